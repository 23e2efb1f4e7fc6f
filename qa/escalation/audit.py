"""Who did what to an escalation, and when: the frozen `AuditEvent`, the actions an
agent takes (assigned, unassigned, replied, resolved, resent, reopened) and `record`,
the one statement that appends to the `escalation_events` table (its schema is in
qa/escalation/queries.py, next to the escalations table, in the outbox file). Events
are only ever added, inside the same transaction as the change they record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qa.database import Connection

__all__ = ["ACTIONS", "RESPONSES", "AuditEvent", "event_from_row", "record"]

ACTIONS = ("assigned", "unassigned", "replied", "resolved", "resent", "reopened")
RESPONSES = ("replied", "resolved")  # what counts as the team's first response
MAX_ACTOR_CHARS = 100
MAX_DETAIL_CHARS = 500  # a resolution note longer than this is cut, with an ellipsis


@dataclass(frozen=True)
class AuditEvent:
    escalation_id: str
    at: float
    actor: str
    action: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"escalation_id": self.escalation_id, "at": self.at, "actor": self.actor,
                "action": self.action, "detail": self.detail}


def event_from_row(row: Mapping[str, Any]) -> AuditEvent:
    return AuditEvent(row["escalation_id"], row["at"], row["actor"], row["action"],
                      row["detail"])


def _line(text: str, limit: int) -> str:
    """One line of at most `limit` characters, an ellipsis marking a cut."""
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[:limit - 1] + "\u2026"


def record(con: Connection, esc_id: str, at: float, actor: str, action: str,
           detail: str = "") -> None:
    """Append one event (in the caller's transaction). `actor` is the console user
    ("cli" or "" for an operator); `detail` one line, e.g. the agent assigned."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    con.execute("INSERT INTO escalation_events (escalation_id, at, actor, action, detail)"
                " VALUES (?,?,?,?,?)",
                (esc_id, at, _line(actor, MAX_ACTOR_CHARS) or "operator", action,
                 _line(detail, MAX_DETAIL_CHARS)))
