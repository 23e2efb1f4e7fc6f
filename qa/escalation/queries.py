"""The escalations table: its schema, and the read-only SQL over it as functions of an
open connection (qa/escalation/outbox.py and qa/escalation/leases.py open the
connections and transactions; the database layer under them is qa/database/). Nothing
here writes. Also here: the audit trail's table (`escalation_events`, appended to by
qa/escalation/audit.py), the migrations that bring an older outbox file up to this
SCHEMA_VERSION, and the inbox search behind the console (`search`, `filter_counts`).

The SQL is written once, in SQLite's dialect and kept portable (no SQLite-only
functions; ALTER TABLE ... ADD COLUMN for migrations): the PostgreSQL back-end
translates its few differences (qa/database/dialect.py). A `lock` argument is the
back-end's row-lock clause (`Database.lock_rows`: "" on SQLite, whose transactions
already hold the write lock, " FOR UPDATE" on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from index.errors import NotFoundError
from qa.database import Connection
from qa.escalation.audit import RESPONSES, AuditEvent, event_from_row
from qa.escalation.filters import UNASSIGNED, InboxFilter
from qa.escalation.records import STATUSES, Escalation, check_status, from_row

__all__ = [
    "MIGRATIONS", "SCHEMA", "SCHEMA_VERSION", "counts", "events",
    "fetch_row", "filter_counts", "filter_sql", "find_duplicate", "first_responses", "get",
    "listing", "resolved_examples", "search",
]

SCHEMA_VERSION = 2

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
    resolution_section TEXT,
    page_url TEXT,
    conversation TEXT NOT NULL DEFAULT '[]',
    reason TEXT NOT NULL DEFAULT 'unanswered',
    assignee TEXT
);
CREATE INDEX IF NOT EXISTS escalations_due ON escalations (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS escalations_client ON escalations (client, created_at);
CREATE INDEX IF NOT EXISTS escalations_created ON escalations (created_at);
CREATE TABLE IF NOT EXISTS escalation_events (
    id INTEGER PRIMARY KEY,
    escalation_id TEXT NOT NULL,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS escalation_events_of ON escalation_events (escalation_id, at);
"""

# version -> the statements that turn a file of version - 1 into it (qa/database/ runs
# them, one transaction per version, before SCHEMA creates what is still missing)
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE escalations ADD COLUMN page_url TEXT",
        "ALTER TABLE escalations ADD COLUMN conversation TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE escalations ADD COLUMN reason TEXT NOT NULL DEFAULT 'unanswered'",
        "ALTER TABLE escalations ADD COLUMN assignee TEXT"),
}


def fetch_row(con: Connection, esc_id: str, *, lock: str = "") -> Any:
    """The row of one escalation, or NotFoundError naming the id."""
    row = con.execute("SELECT * FROM escalations WHERE id = ?" + lock,
                      (str(esc_id),)).fetchone()
    if row is None:
        raise NotFoundError(f"no escalation with id {str(esc_id)[:40]!r}")
    return row


def get(con: Connection, esc_id: str) -> Escalation:
    """One escalation as a record, or NotFoundError."""
    return from_row(fetch_row(con, esc_id))


def listing(con: Connection, status: str | None = None,
            limit: int | None = 200) -> list[Escalation]:
    """Escalations newest first, optionally only one status; limit None = all."""
    where, params = ("WHERE status = ?", [check_status(status)]) if status else ("", [])
    sql = f"SELECT * FROM escalations {where} ORDER BY created_at DESC, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(0, int(limit)))
    return [from_row(r) for r in con.execute(sql, params)]


def counts(con: Connection) -> dict[str, int]:
    """How many escalations are in each status (every status, zeros included)."""
    rows = dict(con.execute("SELECT status, COUNT(*) FROM escalations GROUP BY status"))
    return {s: int(rows.get(s, 0)) for s in STATUSES}


def resolved_examples(con: Connection) -> list[dict[str, str]]:
    """{"question", "section"} pairs an agent resolved with a section (not purged)."""
    rows = con.execute(
        "SELECT question, resolution_section FROM escalations WHERE status = 'resolved'"
        " AND resolution_section IS NOT NULL AND question != '' ORDER BY resolved_at"
    ).fetchall()
    return [{"question": q, "section": s} for q, s in rows]


def find_duplicate(con: Connection, key: str, client: str, to: str, policy_title: str,
                   since: float, *, lock: str = "") -> Any:
    """The newest row with this dedupe key from this (hashed) client for this inbox and
    policy created after `since`, if any: the same question asked of two policies (two
    indexes on one outbox) goes to each policy's inbox."""
    return con.execute(
        "SELECT * FROM escalations WHERE question_key = ? AND client = ? AND recipient = ?"
        " AND policy_title = ? AND created_at > ? ORDER BY created_at DESC LIMIT 1" + lock,
        (key, client, to, policy_title, since),
    ).fetchone()


# --- the inbox: search, counts that follow the filter, the audit trail ---------------

def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_sql(flt: InboxFilter) -> tuple[str, list[Any]]:
    """(WHERE clause or "", its parameters) for an inbox filter."""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.status == "open":
        clauses.append("status != 'resolved'")
    elif flt.status != "all":
        clauses.append("status = ?")
        params.append(check_status(flt.status))
    start, end = flt.bounds()
    if start is not None:
        clauses.append("created_at >= ?")
        params.append(start)
    if end is not None:
        clauses.append("created_at < ?")
        params.append(end)
    if flt.text:
        like = "LIKE LOWER(?) ESCAPE '\\'"
        clauses.append(f"(LOWER(question) {like} OR LOWER(COALESCE(email, '')) {like}"
                       f" OR LOWER(id) {like})")
        params += [_like(flt.text)] * 3
    if flt.assignee == UNASSIGNED:
        clauses.append("assignee IS NULL")
    elif flt.assignee:
        clauses.append("assignee = ?")
        params.append(flt.assignee)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def search(con: Connection, flt: InboxFilter, limit: int | None = 500) -> list[Escalation]:
    """The escalations matching `flt`, newest first; limit None = all."""
    where, params = filter_sql(flt)
    sql = f"SELECT * FROM escalations {where} ORDER BY created_at DESC, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(0, int(limit)))
    return [from_row(r) for r in con.execute(sql, params)]


def filter_counts(con: Connection, flt: InboxFilter) -> dict[str, int]:
    """Per status, how many escalations match `flt` apart from its status."""
    where, params = filter_sql(flt.any_status())
    rows = dict(con.execute(f"SELECT status, COUNT(*) FROM escalations {where}"
                            " GROUP BY status", params).fetchall())
    return {s: int(rows.get(s, 0)) for s in STATUSES}


def events(con: Connection, esc_id: str) -> list[AuditEvent]:
    """An escalation's audit trail, oldest first."""
    rows = con.execute("SELECT * FROM escalation_events WHERE escalation_id = ?"
                       " ORDER BY at, id", (str(esc_id),))
    return [event_from_row(r) for r in rows]


def first_responses(con: Connection, ids: Sequence[str]) -> dict[str, float]:
    """For each of `ids` that has one, when the team first responded (replied or
    resolved)."""
    found: dict[str, float] = {}
    ids = list(ids)
    marks = ", ".join("?" for _ in RESPONSES)
    for start in range(0, len(ids), 500):  # stay under any bound-parameter limit
        chunk = ids[start:start + 500]
        rows = con.execute(
            "SELECT escalation_id, MIN(at) FROM escalation_events WHERE action IN"
            f" ({marks}) AND escalation_id IN ({', '.join('?' for _ in chunk)})"
            " GROUP BY escalation_id", (*RESPONSES, *chunk))
        found.update({r[0]: float(r[1]) for r in rows})
    return found
