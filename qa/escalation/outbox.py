"""The escalation outbox: unanswered questions, committed to SQLite before anyone is
told "forwarded", then handed to delivery (qa/escalation/delivery.py) with leases and retries.

Life of a row: queued -> sent | failed (dead letter; `resend` re-queues it) and, when
an agent answers it, resolved. Only the outbox writes the database. `Outbox` takes
questions in and moves rows between states here (resend, resolve, the retention
purge); its reads are in qa/escalation/queries.py, its delivery leases in
qa/escalation/leases.py, and the SQLite layer under them in qa/sqlite.py. Rows leave it
as frozen `Escalation` records (defined, with their validation, in qa/escalation/records.py
and re-exported here).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from index.errors import ConfigError, EscalationStateError, RateLimitedError
from qa.escalation.leases import OutboxLeases
from qa.escalation.queries import OutboxQueries
from qa.escalation.records import (
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
    _clean_passages,
    _client_key,
    _from_row,
    _leased,
    _optional_email,
    normalise_question,
    validate_email,
)
from qa.sqlite import connect, fetch, init_schema, transaction

__all__ = [
    "MAX_NOTE_CHARS", "MAX_PASSAGES", "MAX_QUESTION_CHARS", "STATUSES",
    "Claim", "Escalation", "EscalationStateError", "OfferedPassage", "Outbox",
    "normalise_question", "validate_email",
]

HOUR = 3600.0
DAY = 86400.0


class Outbox(OutboxQueries, OutboxLeases):
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
        self._secret = init_schema(self.path)

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
        with transaction(self.path) as con:
            existing = self._duplicate(con, key, ckey, now)
            if existing is not None:
                if email and existing["status"] == "queued" and not _leased(existing, now):
                    con.execute("UPDATE escalations SET email = ? WHERE id = ?",
                                (email, existing["id"]))
                return _from_row(fetch(con, existing["id"]))
            self._check_rate(con, client, ckey, now)
            esc_id = "esc_" + secrets.token_urlsafe(9)
            con.execute(
                "INSERT INTO escalations (id, question, question_key, email, passages,"
                " client, recipient, policy_title, created_at, status, attempts,"
                " next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?)",
                (esc_id, text, key, email, json.dumps([p.to_dict() for p in offered]),
                 ckey, to, (policy_title or "").strip()[:200], now, now + max(0.0, hold_seconds)),
            )
            return _from_row(fetch(con, esc_id))

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
        with transaction(self.path) as con:
            row = fetch(con, esc_id)
            if row["status"] != "queued" or _leased(row, now):
                state = "being delivered" if row["status"] == "queued" else row["status"]
                raise EscalationStateError(
                    f"escalation {esc_id} is already {state}; an e-mail address can only "
                    "be added while it is waiting in the queue")
            con.execute("UPDATE escalations SET email = ? WHERE id = ?", (email, esc_id))
            return _from_row(fetch(con, esc_id))

    # --- agents and operators -----------------------------------------------------

    def resend(self, esc_id: str) -> Escalation:
        """Re-queue a failed (dead-letter) escalation with a fresh attempt budget."""
        with transaction(self.path) as con:
            row = fetch(con, esc_id)
            if row["status"] != "failed":
                raise EscalationStateError(
                    f"escalation {esc_id} is {row['status']}, not failed; only failed "
                    "escalations can be resent")
            con.execute(
                "UPDATE escalations SET status = 'queued', attempts = 0, next_attempt_at = ?,"
                " lease_until = NULL, lease_token = NULL WHERE id = ?", (self.clock(), esc_id))
            return _from_row(fetch(con, esc_id))

    def resolve(self, esc_id: str, note: str, section: str | None = None) -> Escalation:
        """Mark as answered by an agent; `section` is the policy anchor that answers it."""
        note = _check_note(esc_id, note)
        section = _check_section(section)
        with transaction(self.path) as con:
            fetch(con, esc_id)
            con.execute(
                "UPDATE escalations SET status = 'resolved', resolved_at = ?,"
                " resolution_note = ?, resolution_section = ? WHERE id = ?",
                (self.clock(), note, section, esc_id))
            return _from_row(fetch(con, esc_id))

    def purge(self, now: float | None = None) -> int:
        """Blank question and e-mail of rows resolved longer ago than retention_days."""
        cutoff = (self.clock() if now is None else now) - self.retention_days * DAY
        with transaction(self.path) as con:
            cur = con.execute(
                "UPDATE escalations SET question = '', question_key = '', email = NULL"
                " WHERE status = 'resolved' AND resolved_at < ?"
                " AND (question != '' OR email IS NOT NULL)", (cutoff,))
            count = cur.rowcount
        if count:
            with connect(self.path) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count
