"""The escalation inbox as agents work it (the console's Escalations tab): a filtered
view with counts that follow the filter, each item's age and time to first response,
and the agents' changes (assign, reply, resolve one or several, resend, reopen), each
recorded in the audit trail with who made it. Over one Outbox's file; the SQL is in
qa/escalation/queries.py and qa/escalation/changes.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from index.errors import EscalationStateError, NotFoundError, PolicyQAError
from qa.escalation import changes, queries
from qa.escalation.audit import AuditEvent
from qa.escalation.filters import InboxFilter
from qa.escalation.outbox import Outbox
from qa.escalation.records import STATUSES, Escalation, check_note, check_section

__all__ = ["MAX_BULK", "Inbox", "InboxItem", "InboxView"]

MAX_BULK = 200


@dataclass(frozen=True)
class InboxItem:
    escalation: Escalation
    age_seconds: float  # since it was asked
    first_response_seconds: float | None  # from asked to the first reply or resolution

    @property
    def actions(self) -> tuple[str, ...]:
        return changes.allowed(self.escalation.status)


@dataclass(frozen=True)
class InboxView:
    items: tuple[InboxItem, ...]
    matched: int  # how many match the whole filter (items may be fewer: the limit)
    counts: dict[str, int]  # per status, matching the filter apart from its status

    def summary(self) -> str:
        """e.g. "3 of 7 escalations match — queued: 1 · sent: 2 · failed: 0 · resolved: 4"."""
        total = sum(self.counts.values())
        line = " · ".join(f"{s}: {self.counts[s]}" for s in STATUSES)
        shown = "" if len(self.items) == self.matched else f" (showing {len(self.items)})"
        return f"{self.matched} of {total} escalations match{shown} — {line}"


@dataclass(frozen=True)
class BulkResult:
    resolved: tuple[Escalation, ...]
    skipped: tuple[str, ...]  # one line per id that was not resolved, and why


class Inbox:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    @property
    def clock(self):  # noqa: ANN201 - the outbox's clock
        return self.outbox.clock

    def view(self, flt: InboxFilter, limit: int = 500) -> InboxView:
        now = self.clock()
        with self.outbox.database.connect() as con:
            found = queries.search(con, flt, limit=None)
            counts = queries.filter_counts(con, flt)
            shown = found[:limit]
            first = queries.first_responses(con, [e.id for e in shown])
        items = tuple(InboxItem(e, max(0.0, now - e.created_at),
                                (first[e.id] - e.created_at) if e.id in first else None)
                      for e in shown)
        return InboxView(items, len(found), counts)

    def item(self, esc_id: str) -> InboxItem:
        with self.outbox.database.connect() as con:
            esc = queries.get(con, (esc_id or "").strip())
            first = queries.first_responses(con, [esc.id]).get(esc.id)
        return InboxItem(esc, max(0.0, self.clock() - esc.created_at),
                         None if first is None else first - esc.created_at)

    def history(self, esc_id: str) -> list[AuditEvent]:
        return self.outbox.events((esc_id or "").strip())

    def assign(self, esc_id: str, agent: str | None, actor: str) -> Escalation:
        with self.outbox.database.transaction() as con:
            return changes.assign(con, esc_id.strip(), agent, self.clock(), actor)

    def replied(self, esc_id: str, actor: str) -> Escalation:
        with self.outbox.database.transaction() as con:
            return changes.replied(con, esc_id.strip(), self.clock(), actor)

    def resolve(self, esc_id: str, note: str, section: str | None, actor: str) -> Escalation:
        with self.outbox.database.transaction() as con:
            return changes.resolve(con, esc_id.strip(), note, section, self.clock(), actor,
                                   again=False)

    def resend(self, esc_id: str, actor: str) -> Escalation:
        return self.outbox.resend(esc_id.strip(), actor)

    def reopen(self, esc_id: str, actor: str) -> Escalation:
        with self.outbox.database.transaction() as con:
            return changes.reopen(con, esc_id.strip(), self.clock(), actor)

    def resolve_many(self, ids: Iterable[str], note: str, section: str | None,
                     actor: str) -> BulkResult:
        """Resolve every open one of `ids` with the same note in one transaction; the
        ones that cannot be (unknown, already resolved) are skipped and named."""
        wanted = list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
        if not wanted:
            raise PolicyQAError("select at least one escalation to resolve")
        if len(wanted) > MAX_BULK:
            raise PolicyQAError(f"too many escalations at once: {len(wanted)} (limit {MAX_BULK})")
        check_note("the selected escalations", note)  # the same for all: fail before any
        check_section(section)
        done, skipped = [], []
        with self.outbox.database.transaction() as con:
            at = self.clock()
            for esc_id in wanted:
                try:
                    done.append(changes.resolve(con, esc_id, note, section, at, actor,
                                                again=False))
                except (NotFoundError, EscalationStateError) as exc:
                    skipped.append(str(exc))
        return BulkResult(tuple(done), tuple(skipped))
