"""The escalations table: its schema, and the read-only SQL over it as functions of an
open connection (qa/escalation/outbox.py and qa/escalation/leases.py open the
connections and transactions; the SQLite layer under them is qa/sqlite.py). Nothing
here writes.
"""

from __future__ import annotations

import sqlite3

from index.errors import NotFoundError
from qa.escalation.records import STATUSES, Escalation, check_status, from_row

__all__ = [
    "SCHEMA", "SCHEMA_VERSION", "counts", "durability", "fetch_row", "find_duplicate",
    "get", "listing", "resolved_examples",
]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    email TEXT,
    passages TEXT NOT NULL DEFAULT '[]',
    client TEXT NOT NULL DEFAULT '',
    recipient TEXT NOT NULL,
    policy_title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'resolved')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    lease_token TEXT,
    last_error TEXT,
    sent_at REAL,
    resolved_at REAL,
    resolution_note TEXT,
    resolution_section TEXT
);
CREATE INDEX IF NOT EXISTS escalations_due ON escalations (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS escalations_client ON escalations (client, created_at);
"""


def fetch_row(con: sqlite3.Connection, esc_id: str) -> sqlite3.Row:
    """The row of one escalation, or NotFoundError naming the id."""
    row = con.execute("SELECT * FROM escalations WHERE id = ?", (str(esc_id),)).fetchone()
    if row is None:
        raise NotFoundError(f"no escalation with id {str(esc_id)[:40]!r}")
    return row


def get(con: sqlite3.Connection, esc_id: str) -> Escalation:
    """One escalation as a record, or NotFoundError."""
    return from_row(fetch_row(con, esc_id))


def listing(con: sqlite3.Connection, status: str | None = None,
            limit: int | None = 200) -> list[Escalation]:
    """Escalations newest first, optionally only one status; limit None = all."""
    where, params = ("WHERE status = ?", [check_status(status)]) if status else ("", [])
    sql = f"SELECT * FROM escalations {where} ORDER BY created_at DESC, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(0, int(limit)))
    return [from_row(r) for r in con.execute(sql, params)]


def counts(con: sqlite3.Connection) -> dict[str, int]:
    """How many escalations are in each status (every status, zeros included)."""
    rows = dict(con.execute("SELECT status, COUNT(*) FROM escalations GROUP BY status"))
    return {s: int(rows.get(s, 0)) for s in STATUSES}


def durability(con: sqlite3.Connection) -> tuple[str, str]:
    """(journal mode, synchronous level) of this connection, e.g. ("wal", "full")."""
    journal = con.execute("PRAGMA journal_mode").fetchone()[0]
    sync = con.execute("PRAGMA synchronous").fetchone()[0]
    return journal, {2: "full", 3: "extra"}.get(sync, str(sync))


def resolved_examples(con: sqlite3.Connection) -> list[dict[str, str]]:
    """{"question", "section"} pairs an agent resolved with a section (not purged)."""
    rows = con.execute(
        "SELECT question, resolution_section FROM escalations WHERE status = 'resolved'"
        " AND resolution_section IS NOT NULL AND question != '' ORDER BY resolved_at"
    ).fetchall()
    return [{"question": q, "section": s} for q, s in rows]


def find_duplicate(con: sqlite3.Connection, key: str, client: str,
                   since: float) -> sqlite3.Row | None:
    """The newest row with this dedupe key from this (hashed) client created after
    `since`, if any."""
    return con.execute(
        "SELECT * FROM escalations WHERE question_key = ? AND client = ?"
        " AND created_at > ? ORDER BY created_at DESC LIMIT 1",
        (key, client, since),
    ).fetchone()
