"""The escalation outbox: unanswered questions, committed to SQLite before anyone is
told "forwarded", then handed to delivery (qa/deliver.py) with leases and retries.

Life of a row: queued -> sent | failed (dead letter; `resend` re-queues it) and, when
an agent answers it, resolved. Only this module writes the database. Rows leave it as
frozen `Escalation` records (defined, with their validation, in qa/escalation.py and
re-exported here). `claim_due` leases a row to one deliverer at a time, and the
`mark_*` calls only land while that lease (its token) still holds.
"""

from __future__ import annotations

import builtins
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.errors import ConfigError, EscalationStateError, NotFoundError, RateLimitedError
from qa.escalation import (
    MAX_NOTE_CHARS,
    MAX_PASSAGES,
    MAX_QUESTION_CHARS,
    STATUSES,
    Claim,
    Escalation,
    OfferedPassage,
    _check_note,
    _check_question,
    _check_section,
    _check_status,
    _clean_passages,
    _client_key,
    _from_row,
    _leased,
    _optional_email,
    _short,
    normalise_question,
    validate_email,
)

__all__ = [
    "MAX_NOTE_CHARS", "MAX_PASSAGES", "MAX_QUESTION_CHARS", "STATUSES",
    "Claim", "Escalation", "EscalationStateError", "OfferedPassage", "Outbox",
    "normalise_question", "validate_email",
]

HOUR = 3600.0
DAY = 86400.0
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


# --- SQLite --------------------------------------------------------------------------


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
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
def _transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT: one writer at a time, durable once we return."""
    with _connect(path) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def _init_schema(path: Path) -> bytes:
    """Create or check the schema; return this database's client-hashing secret."""
    with _connect(path) as con:
        con.execute("PRAGMA journal_mode = WAL")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(f"outbox {str(path)!r} has schema version {version}; this "
                              f"policy-qa understands up to {SCHEMA_VERSION}")
        con.executescript(_SCHEMA)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    with _transaction(path) as con:
        con.execute("INSERT OR IGNORE INTO meta VALUES ('client_secret', ?)",
                    (secrets.token_hex(32),))
        row = con.execute("SELECT value FROM meta WHERE key = 'client_secret'").fetchone()
        return bytes.fromhex(row[0])


class Outbox:
    """Durable store of escalations in one SQLite file (WAL, synchronous=FULL).

    Every call opens its own short-lived connection, so one Outbox can be shared by
    request threads and the delivery worker, and several processes can share a file.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        dedupe_window_seconds: float,
        escalations_per_hour: int,
        retention_days: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.dedupe_window_seconds = float(dedupe_window_seconds)
        self.escalations_per_hour = int(escalations_per_hour)
        self.retention_days = float(retention_days)
        self.clock = clock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the outbox folder for {str(self.path)!r}: "
                              f"{exc.strerror or exc}") from None
        self._secret = _init_schema(self.path)

    @classmethod
    def from_settings(cls, settings: Any, *, clock: Callable[[], float] = time.time) -> Outbox:
        return cls(
            settings.outbox,
            dedupe_window_seconds=settings.dedupe_window_seconds,
            escalations_per_hour=settings.escalations_per_hour,
            retention_days=settings.retention_days,
            clock=clock,
        )

    # --- accepting questions ------------------------------------------------------

    def enqueue(
        self,
        question: str,
        *,
        to: str,
        email: str | None = None,
        passages: Iterable[Any] = (),
        client: str = "",
        policy_title: str = "",
        hold_seconds: float = 0.0,
    ) -> Escalation:
        """Commit an escalation (or return the duplicate already committed).

        `client` is any stable client identifier (an IP, a session); only a keyed hash
        of it is stored. An empty client is not rate-limited (operators, the CLI).
        """
        key, text = _check_question(question)
        to = validate_email(to, allow_local=True)
        email = _optional_email(email)
        offered = _clean_passages(passages)
        ckey = _client_key(self._secret, client)
        now = self.clock()
        with _transaction(self.path) as con:
            existing = self._duplicate(con, key, ckey, now)
            if existing is not None:
                if email and existing["status"] == "queued" and not _leased(existing, now):
                    con.execute("UPDATE escalations SET email = ? WHERE id = ?",
                                (email, existing["id"]))
                return _from_row(_fetch(con, existing["id"]))
            self._check_rate(con, client, ckey, now)
            esc_id = "esc_" + secrets.token_urlsafe(9)
            con.execute(
                "INSERT INTO escalations (id, question, question_key, email, passages,"
                " client, recipient, policy_title, created_at, status, attempts,"
                " next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?)",
                (esc_id, text, key, email, json.dumps([p.to_dict() for p in offered]),
                 ckey, to, (policy_title or "").strip()[:200], now, now + max(0.0, hold_seconds)),
            )
            return _from_row(_fetch(con, esc_id))

    def _duplicate(self, con: sqlite3.Connection, key: str, ckey: str, now: float) -> Any:
        return con.execute(
            "SELECT * FROM escalations WHERE question_key = ? AND client = ?"
            " AND created_at > ? ORDER BY created_at DESC LIMIT 1",
            (key, ckey, now - self.dedupe_window_seconds),
        ).fetchone()

    def _check_rate(self, con: sqlite3.Connection, client: str, ckey: str, now: float) -> None:
        limit = self.escalations_per_hour
        if not client or limit <= 0:
            return
        recent = con.execute(
            "SELECT created_at FROM escalations WHERE client = ? AND created_at > ?"
            " ORDER BY created_at", (ckey, now - HOUR),
        ).fetchall()
        if len(recent) >= limit:
            retry = recent[len(recent) - limit][0] + HOUR - now
            raise RateLimitedError(
                f"too many escalations from this client: {len(recent)} in the last hour "
                f"(limit {limit}); try again in {int(retry) + 1} s", retry)

    def attach_email(self, esc_id: str, email: str) -> Escalation:
        """Record the asker's reply address, only while the escalation is still queued."""
        email = validate_email(email)
        now = self.clock()
        with _transaction(self.path) as con:
            row = _fetch(con, esc_id)
            if row["status"] != "queued" or _leased(row, now):
                state = "being delivered" if row["status"] == "queued" else row["status"]
                raise EscalationStateError(
                    f"escalation {esc_id} is already {state}; an e-mail address can only "
                    "be added while it is waiting in the queue")
            con.execute("UPDATE escalations SET email = ? WHERE id = ?", (email, esc_id))
            return _from_row(_fetch(con, esc_id))

    # --- reading ------------------------------------------------------------------

    def get(self, esc_id: str) -> Escalation:
        with _connect(self.path) as con:
            return _from_row(_fetch(con, esc_id))

    def list(self, status: str | None = None, limit: int | None = 200) -> list[Escalation]:
        """Escalations newest first, optionally only one status; limit None = all."""
        where, params = ("WHERE status = ?", [_check_status(status)]) if status else ("", [])
        sql = f"SELECT * FROM escalations {where} ORDER BY created_at DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, int(limit)))
        with _connect(self.path) as con:
            return [_from_row(r) for r in con.execute(sql, params)]

    def counts(self) -> dict[str, int]:
        with _connect(self.path) as con:
            rows = dict(con.execute("SELECT status, COUNT(*) FROM escalations GROUP BY status"))
        return {s: int(rows.get(s, 0)) for s in ("queued", "sent", "failed", "resolved")}

    def health(self) -> dict[str, Any]:
        """What a health check or the console shows: durability settings and counts."""
        with _connect(self.path) as con:
            journal = con.execute("PRAGMA journal_mode").fetchone()[0]
            sync = con.execute("PRAGMA synchronous").fetchone()[0]
        return {"path": str(self.path), "journal_mode": journal,
                "synchronous": {2: "full", 3: "extra"}.get(sync, str(sync)),
                "counts": self.counts()}

    def resolved_examples(self) -> builtins.list[dict[str, str]]:
        """{"question", "section"} pairs an agent resolved with a section (not purged)."""
        with _connect(self.path) as con:
            rows = con.execute(
                "SELECT question, resolution_section FROM escalations WHERE status = 'resolved'"
                " AND resolution_section IS NOT NULL AND question != '' ORDER BY resolved_at"
            ).fetchall()
        return [{"question": q, "section": s} for q, s in rows]

    # --- agents and operators -----------------------------------------------------

    def resend(self, esc_id: str) -> Escalation:
        """Re-queue a failed (dead-letter) escalation with a fresh attempt budget."""
        with _transaction(self.path) as con:
            row = _fetch(con, esc_id)
            if row["status"] != "failed":
                raise EscalationStateError(
                    f"escalation {esc_id} is {row['status']}, not failed; only failed "
                    "escalations can be resent")
            con.execute(
                "UPDATE escalations SET status = 'queued', attempts = 0, next_attempt_at = ?,"
                " lease_until = NULL, lease_token = NULL WHERE id = ?", (self.clock(), esc_id))
            return _from_row(_fetch(con, esc_id))

    def resolve(self, esc_id: str, note: str, section: str | None = None) -> Escalation:
        """Mark as answered by an agent; `section` is the policy anchor that answers it."""
        note = _check_note(esc_id, note)
        section = _check_section(section)
        with _transaction(self.path) as con:
            _fetch(con, esc_id)
            con.execute(
                "UPDATE escalations SET status = 'resolved', resolved_at = ?,"
                " resolution_note = ?, resolution_section = ? WHERE id = ?",
                (self.clock(), note, section, esc_id))
            return _from_row(_fetch(con, esc_id))

    def purge(self, now: float | None = None) -> int:
        """Blank question and e-mail of rows resolved longer ago than retention_days."""
        cutoff = (self.clock() if now is None else now) - self.retention_days * DAY
        with _transaction(self.path) as con:
            cur = con.execute(
                "UPDATE escalations SET question = '', question_key = '', email = NULL"
                " WHERE status = 'resolved' AND resolved_at < ?"
                " AND (question != '' OR email IS NOT NULL)", (cutoff,))
            count = cur.rowcount
        if count:
            with _connect(self.path) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count

    # --- delivery (used by qa/deliver.py) -----------------------------------------

    def claim_due(self, now: float | None = None, limit: int = 1, lease_seconds: float = 300.0,
                  *, due_by: float | None = None) -> builtins.list[Claim]:
        """Lease up to `limit` queued rows due by `due_by` (default `now`) whose lease is
        free at `now`, until now + lease_seconds; each claim counts as an attempt."""
        now = self.clock() if now is None else now
        due_by = now if due_by is None else due_by
        with _transaction(self.path) as con:
            ids = [r[0] for r in con.execute(
                "SELECT id FROM escalations WHERE status = 'queued' AND next_attempt_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                " ORDER BY next_attempt_at, created_at LIMIT ?", (due_by, now, int(limit)))]
            claims = []
            for esc_id in ids:
                token = secrets.token_hex(8)
                con.execute(
                    "UPDATE escalations SET lease_until = ?, lease_token = ?,"
                    " attempts = attempts + 1 WHERE id = ?", (now + lease_seconds, token, esc_id))
                claims.append(Claim(_from_row(_fetch(con, esc_id)), token))
            return claims

    def mark_sent(self, claim: Claim, now: float | None = None) -> bool:
        """The transport accepted the message. False if the lease was lost meanwhile."""
        return self._release(
            claim, "status = CASE status WHEN 'queued' THEN 'sent' ELSE status END,"
            " sent_at = ?", (self.clock() if now is None else now,), any_status=True)

    def mark_retry(self, claim: Claim, error: str, next_at: float) -> bool:
        return self._release(claim, "last_error = ?, next_attempt_at = ?",
                             (_short(error), next_at))

    def mark_failed(self, claim: Claim, error: str) -> bool:
        return self._release(claim, "status = 'failed', last_error = ?", (_short(error),))

    def _release(self, claim: Claim, sets: str, params: tuple[Any, ...],
                 any_status: bool = False) -> bool:
        only_queued = "" if any_status else " AND status = 'queued'"
        with _transaction(self.path) as con:
            cur = con.execute(
                f"UPDATE escalations SET {sets}, lease_until = NULL, lease_token = NULL"
                f" WHERE id = ? AND lease_token = ?{only_queued}",
                (*params, claim.escalation.id, claim.token))
            return cur.rowcount == 1



def _fetch(con: sqlite3.Connection, esc_id: str) -> sqlite3.Row:
    row = con.execute("SELECT * FROM escalations WHERE id = ?", (str(esc_id),)).fetchone()
    if row is None:
        raise NotFoundError(f"no escalation with id {str(esc_id)[:40]!r}")
    return row
