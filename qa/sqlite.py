"""The outbox's SQLite layer: the schema, short-lived connections, `BEGIN IMMEDIATE`
transactions, and fetching one escalation row by id (qa/escalation/outbox.py builds on it).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import ConfigError, NotFoundError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open outbox {str(path)!r}: {exc}") from None
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA secure_delete = ON")
        yield con
    except sqlite3.DatabaseError as exc:
        if any(s in str(exc) for s in ("not a database", "malformed", "unable to open",
                                       "readonly")):
            raise ConfigError(f"outbox {str(path)!r} is not a usable SQLite file: {exc}") from None
        raise
    finally:
        con.close()


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT: one writer at a time, durable once we return."""
    with connect(path) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def init_schema(path: Path) -> bytes:
    """Create or check the schema; return this database's client-hashing secret."""
    with connect(path) as con:
        con.execute("PRAGMA journal_mode = WAL")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(f"outbox {str(path)!r} has schema version {version}; this "
                              f"policy-qa understands up to {SCHEMA_VERSION}")
        con.executescript(_SCHEMA)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    with transaction(path) as con:
        con.execute("INSERT OR IGNORE INTO meta VALUES ('client_secret', ?)",
                    (secrets.token_hex(32),))
        row = con.execute("SELECT value FROM meta WHERE key = 'client_secret'").fetchone()
        return bytes.fromhex(row[0])


def fetch(con: sqlite3.Connection, esc_id: str) -> sqlite3.Row:
    row = con.execute("SELECT * FROM escalations WHERE id = ?", (str(esc_id),)).fetchone()
    if row is None:
        raise NotFoundError(f"no escalation with id {str(esc_id)[:40]!r}")
    return row
