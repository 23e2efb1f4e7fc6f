"""Delivery leases on the outbox file (used by qa/escalation/delivery.py through
`Outbox`, which holds one `Leases`): `claim_due` leases queued rows to one deliverer
at a time, and the `mark_*` calls land only while that lease (its token) still holds.

On SQLite the claim holds the file's write lock (one writer at a time). On PostgreSQL
it locks only the rows it takes, `SELECT ... FOR UPDATE SKIP LOCKED`: deliverers on
several replicas claim at once, each skipping the rows another is claiming, and a row
whose lease is taken is not due to anyone else until the lease ends; so no escalation
is sent twice while its lease holds, and a deliverer that dies holding one leaves it
to the next claim after `lease_seconds`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from qa.escalation.queries import get
from qa.escalation.records import Claim

__all__ = ["Leases", "is_leased"]

MAX_ERROR_CHARS = 500


def is_leased(row: Any, now: float) -> bool:
    """Whether a deliverer holds this row's lease at `now`."""
    return row["lease_until"] is not None and row["lease_until"] > now


def _short(error: str) -> str:
    """An error message on one line, at most MAX_ERROR_CHARS long."""
    return " ".join(str(error).split())[:MAX_ERROR_CHARS]


class Leases:
    """The delivery side of one outbox database; `clock` is the outbox's clock."""

    def __init__(self, database: Any, clock: Callable[[], float]) -> None:
        self.database = database
        self.clock = clock

    def claim_due(self, now: float | None = None, limit: int = 1, lease_seconds: float = 300.0,
                  *, due_by: float | None = None) -> list[Claim]:
        """Lease up to `limit` queued rows due by `due_by` (default `now`) whose lease is
        free at `now`, until now + lease_seconds; each claim counts as an attempt."""
        now = self.clock() if now is None else now
        due_by = now if due_by is None else due_by
        with self.database.transaction("ROWS") as con:
            ids = [r[0] for r in con.execute(
                "SELECT id FROM escalations WHERE status = 'queued' AND next_attempt_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                " ORDER BY next_attempt_at, created_at LIMIT ?" + self.database.skip_locked,
                (due_by, now, int(limit)))]
            claims = []
            for esc_id in ids:
                token = secrets.token_hex(8)
                con.execute(
                    "UPDATE escalations SET lease_until = ?, lease_token = ?,"
                    " attempts = attempts + 1 WHERE id = ?", (now + lease_seconds, token, esc_id))
                claims.append(Claim(get(con, esc_id), token))
            return claims

    def mark_sent(self, claim: Claim, now: float | None = None) -> bool:
        """The transport accepted the message. False if the lease was lost meanwhile."""
        return self._release(
            claim, "status = CASE status WHEN 'queued' THEN 'sent' ELSE status END,"
            " sent_at = ?", (self.clock() if now is None else now,), any_status=True)

    def mark_retry(self, claim: Claim, error: str, next_at: float) -> bool:
        """Keep the row queued, due again at `next_at`, remembering `error`."""
        return self._release(claim, "last_error = ?, next_attempt_at = ?",
                             (_short(error), next_at))

    def mark_failed(self, claim: Claim, error: str) -> bool:
        """Give up: the row becomes a dead letter (failed) that keeps `error`."""
        return self._release(claim, "status = 'failed', last_error = ?", (_short(error),))

    def _release(self, claim: Claim, sets: str, params: tuple[Any, ...],
                 any_status: bool = False) -> bool:
        only_queued = "" if any_status else " AND status = 'queued'"
        with self.database.transaction("ROWS") as con:  # one row, by its token
            cur = con.execute(
                f"UPDATE escalations SET {sets}, lease_until = NULL, lease_token = NULL"
                f" WHERE id = ? AND lease_token = ?{only_queued}",
                (*params, claim.escalation.id, claim.token))
            return cur.rowcount == 1
