"""The escalation outbox: unanswered questions, committed to the database (an SQLite
file, or PostgreSQL shared by replicas) before anyone is told "forwarded", then
handed to delivery (qa/escalation/delivery.py) with leases and retries.

Life of a row: queued -> sent | failed (dead letter; `resend` re-queues it) and, when
an agent answers it, resolved. Only the outbox writes the database. `Outbox` takes
questions in (enqueue, dedupe, attach an e-mail), lists them and moves rows between
states (resend, resolve, the retention purge). It is composed of: the database
(`qa.database.open_database`: the file, or the `outbox` schema of `database_url`),
the table and its reads (qa/escalation/queries.py), and the delivery leases (a
`Leases`, qa/escalation/leases.py). Rows leave it as frozen `Escalation` records
(defined, with their validation, in qa/escalation/records.py and re-exported here).
"""

from __future__ import annotations

import builtins
import json
import secrets
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from index.errors import EscalationStateError, RateLimitedError
from qa.clients import bucket_of
from qa.database import Connection, client_hash, open_database
from qa.escalation import changes, queries
from qa.escalation.audit import AuditEvent
from qa.escalation.context import check_page_url, clean_conversation
from qa.escalation.leases import Leases, is_leased
from qa.escalation.records import (
    MAX_NOTE_CHARS,
    MAX_PASSAGES,
    MAX_QUESTION_CHARS,
    STATUSES,
    Claim,
    Escalation,
    add_asker,
    askers,
    check_question,
    check_reason,
    clean_passages,
    optional_email,
    validate_email,
)

__all__ = [
    "MAX_NOTE_CHARS", "MAX_PASSAGES", "MAX_QUESTION_CHARS", "STATUSES",
    "Claim", "Escalation", "EscalationStateError", "Outbox", "validate_email",
]

HOUR = 3600.0
DAY = 86400.0


class Outbox:
    """Durable store of escalations in one SQLite file (WAL, synchronous=FULL,
    secure_delete) or, when `path` is a postgresql:// URL, in the `outbox` schema of
    that database; held as `database`. Its delivery leases are `leases`.

    Every call opens its own short-lived connection (borrowed from a pool on
    PostgreSQL), so one Outbox can be shared by request threads and the delivery
    worker, and several processes (replicas) can share the store.
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
        self.database = open_database(path, "outbox", store="outbox", synchronous="FULL",
                                      secure_delete=True)
        self.dedupe_window_seconds = float(dedupe_window_seconds)
        self.escalations_per_hour = int(escalations_per_hour)
        self.retention_days = float(retention_days)
        self.clock = clock
        self.database.prepare()
        self._secret = self.database.create(queries.SCHEMA, queries.SCHEMA_VERSION,
                                            queries.MIGRATIONS)
        self.leases = Leases(self.database, clock)

    @property
    def path(self) -> Path | str:
        """The outbox file (on PostgreSQL: the database and schema, no password)."""
        return self.database.path

    @classmethod
    def from_settings(cls, settings: Any, *, clock: Callable[[], float] = time.time) -> Outbox:
        return cls(
            getattr(settings, "database_url", "") or settings.outbox,
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
        page_url: str | None = None,
        conversation: Iterable[str] = (),
        reason: str = "unanswered",
    ) -> Escalation:
        """Commit an escalation (or return the duplicate already committed).

        `client` is any stable client identifier (an IP, a session); only a keyed hash
        of its bucket (`qa.clients.bucket_of`: an IPv6 address's /64) is stored, and the
        hourly limit and the dedupe window count that bucket. An empty client is not
        rate-limited (operators, the CLI).
        `page_url` is the page the visitor asked from, `conversation` their earlier
        questions, `reason` "unanswered" or "unhelpful" (they disliked the answer).
        """
        key, text = check_question(question)
        to = validate_email(to, allow_local=True)
        email = optional_email(email)
        offered = clean_passages(passages)
        page_url, reason = check_page_url(page_url), check_reason(reason)
        earlier = json.dumps(list(clean_conversation(conversation)))
        policy_title = (policy_title or "").strip()[:200]
        ckey = client_hash(self._secret, bucket_of(client))
        now = self.clock()
        with self.database.transaction() as con:
            existing = queries.find_duplicate(con, key, ckey, to, policy_title,
                                              now - self.dedupe_window_seconds,
                                              lock=self.database.lock_rows)
            if existing is not None:
                open_ = existing["status"] == "queued" and not is_leased(existing, now)
                new_asker = bool(email) and email not in askers(existing["email"])
                if new_asker and open_:
                    con.execute("UPDATE escalations SET email = ? WHERE id = ?",
                                (add_asker(existing["email"], email), existing["id"]))
                if open_ or not new_asker:
                    return queries.get(con, existing["id"])
                # already on its way without this asker: a new escalation carries them
            self._check_rate(con, client, ckey, now)
            esc_id = "esc_" + secrets.token_urlsafe(9)
            con.execute(
                "INSERT INTO escalations (id, question, question_key, email, passages,"
                " client, recipient, policy_title, created_at, status, attempts,"
                " next_attempt_at, page_url, conversation, reason)"
                " VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?,?,?,?)",
                (esc_id, text, key, email, json.dumps([p.to_dict() for p in offered]),
                 ckey, to, policy_title, now, now + max(0.0, hold_seconds),
                 page_url, earlier, reason),
            )
            self.database.announce(con)  # other replicas' workers wake on the commit
            return queries.get(con, esc_id)

    def _check_rate(self, con: Connection, client: str, ckey: str, now: float) -> None:
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
        """Record the asker's reply address, only while the escalation is still queued;
        one held for an address (never tried yet) is then due at once."""
        email = validate_email(email)
        now = self.clock()
        with self.database.transaction() as con:
            row = queries.fetch_row(con, esc_id, lock=self.database.lock_rows)
            if row["status"] != "queued" or is_leased(row, now):
                state = "being delivered" if row["status"] == "queued" else row["status"]
                raise EscalationStateError(
                    f"escalation {esc_id} is already {state}; an e-mail address can only "
                    "be added while it is waiting in the queue")
            con.execute("UPDATE escalations SET email = ?, next_attempt_at = CASE WHEN"
                        " attempts = 0 AND next_attempt_at > ? THEN ? ELSE next_attempt_at"
                        " END WHERE id = ?", (add_asker(row["email"], email), now, now, esc_id))
            self.database.announce(con)
            return queries.get(con, esc_id)

    # --- reading ------------------------------------------------------------------

    def get(self, esc_id: str) -> Escalation:
        """One escalation, or NotFoundError naming the id."""
        with self.database.connect() as con:
            return queries.get(con, esc_id)

    def list(self, status: str | None = None, limit: int | None = 200) -> list[Escalation]:
        """Escalations newest first, optionally only one status; limit None = all."""
        with self.database.connect() as con:
            return queries.listing(con, status, limit)

    def counts(self) -> dict[str, int]:
        """How many escalations are in each status."""
        with self.database.connect() as con:
            return queries.counts(con)

    def health(self) -> dict[str, Any]:
        """What a health check or the console shows: durability settings and counts."""
        journal, sync = self.database.durability()
        return {"path": str(self.path), "journal_mode": journal, "synchronous": sync,
                "counts": self.counts()}

    def resolved_examples(self) -> builtins.list[dict[str, str]]:
        """{"question", "section"} pairs an agent resolved with a section (not purged)."""
        with self.database.connect() as con:
            return queries.resolved_examples(con)

    # --- delivery (the leases, qa/escalation/leases.py) -----------------------------

    def claim_due(self, now: float | None = None, limit: int = 1, lease_seconds: float = 300.0,
                  *, due_by: float | None = None) -> builtins.list[Claim]:
        """Lease due rows to this deliverer (see `Leases.claim_due`)."""
        return self.leases.claim_due(now, limit, lease_seconds, due_by=due_by)

    def mark_sent(self, claim: Claim, now: float | None = None) -> bool:
        """The transport accepted the message; False if the lease was lost meanwhile."""
        return self.leases.mark_sent(claim, now)

    def mark_retry(self, claim: Claim, error: str, next_at: float) -> bool:
        """Keep the row queued, due again at `next_at`; False if the lease was lost."""
        return self.leases.mark_retry(claim, error, next_at)

    def mark_failed(self, claim: Claim, error: str) -> bool:
        """Make the row a dead letter that keeps `error`; False if the lease was lost."""
        return self.leases.mark_failed(claim, error)

    # --- agents and operators -----------------------------------------------------

    def resend(self, esc_id: str, actor: str = "") -> Escalation:
        """Re-queue a failed (dead-letter) escalation with a fresh attempt budget; the
        audit trail records `actor` (a console user, "cli")."""
        with self.database.transaction() as con:
            escalation = changes.resend(con, esc_id, self.clock(), actor)
            self.database.announce(con)
            return escalation

    def resolve(self, esc_id: str, note: str, section: str | None = None,
                actor: str = "") -> Escalation:
        """Mark as answered by an agent; `section` is the policy anchor that answers it."""
        with self.database.transaction() as con:
            return changes.resolve(con, esc_id, note, section, self.clock(), actor)

    def events(self, esc_id: str) -> builtins.list[AuditEvent]:
        """Who did what to an escalation and when, oldest first (NotFoundError if the
        escalation does not exist)."""
        with self.database.connect() as con:
            queries.fetch_row(con, esc_id)
            return queries.events(con, esc_id)

    def purge(self, now: float | None = None) -> int:
        """Blank question and e-mail of rows resolved longer ago than retention_days."""
        cutoff = (self.clock() if now is None else now) - self.retention_days * DAY
        with self.database.transaction() as con:
            cur = con.execute(
                "UPDATE escalations SET question = '', question_key = '', email = NULL,"
                " page_url = NULL, conversation = '[]'"
                " WHERE status = 'resolved' AND resolved_at < ?"
                " AND (question != '' OR email IS NOT NULL OR page_url IS NOT NULL"
                " OR conversation != '[]')", (cutoff,))
            count = cur.rowcount
        if count:
            self.database.checkpoint()
        return count
