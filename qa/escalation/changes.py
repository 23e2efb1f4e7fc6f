"""The agents' changes to an escalation, each one statement plus its audit event in the
caller's transaction (qa/escalation/outbox.py and qa/escalation/inbox.py open them):
resend a failed one, resolve, reopen a resolved one, assign, note a reply. Which
change a state allows is `allowed`; a change the state does not allow raises
EscalationStateError naming both."""

from __future__ import annotations

from typing import Any

from index.errors import EscalationStateError, PolicyQAError
from qa.database import Connection
from qa.escalation import audit, queries
from qa.escalation.records import Escalation, check_note, check_section

__all__ = ["MAX_AGENT_CHARS", "allowed", "assign", "reopen", "replied", "resend", "resolve"]

MAX_AGENT_CHARS = 100

# what an agent may do in each status (the console offers exactly these)
_ALLOWED = {
    "queued": ("assign", "reply", "resolve"),
    "sent": ("assign", "reply", "resolve"),
    "failed": ("assign", "reply", "resolve", "resend"),
    "resolved": ("assign", "reopen"),
}


def allowed(status: str) -> tuple[str, ...]:
    """The actions an escalation in `status` offers."""
    return _ALLOWED.get(status, ())


def _require(row: Any, action: str) -> None:
    if action not in allowed(row["status"]):
        offered = ", ".join(allowed(row["status"])) or "nothing"
        raise EscalationStateError(f"escalation {row['id']} is {row['status']}: it cannot be "
                                   f"{_PAST.get(action, action)} (it offers: {offered})")


_PAST = {"resend": "resent", "resolve": "resolved", "reopen": "reopened",
         "reply": "replied to", "assign": "assigned"}


def resend(con: Connection, esc_id: str, at: float, actor: str) -> Escalation:
    """Re-queue a failed (dead-letter) escalation with a fresh attempt budget. The error
    it failed with moves to the audit trail: shown as the last delivery error after a
    successful resend, it read as if the mail had not gone (console audit)."""
    row = queries.fetch_row(con, esc_id)
    if row["status"] != "failed":
        raise EscalationStateError(
            f"escalation {esc_id} is {row['status']}, not failed; only failed "
            "escalations can be resent")
    con.execute("UPDATE escalations SET status = 'queued', attempts = 0, next_attempt_at = ?,"
                " lease_until = NULL, lease_token = NULL, last_error = NULL WHERE id = ?",
                (at, esc_id))
    audit.record(con, esc_id, at, actor, "resent",
                 f"it had failed: {row['last_error']}" if row["last_error"] else "")
    return queries.get(con, esc_id)


def resolve(con: Connection, esc_id: str, note: str, section: str | None,
            at: float, actor: str, *, again: bool = True) -> Escalation:
    """Mark answered with a note and the policy section that answers it. `again`
    False refuses an escalation that is already resolved (the console), True
    replaces its note (the CLI, as before)."""
    note, section = check_note(esc_id, note), check_section(section)
    row = queries.fetch_row(con, esc_id)
    if not again:
        _require(row, "resolve")
    con.execute("UPDATE escalations SET status = 'resolved', resolved_at = ?,"
                " resolution_note = ?, resolution_section = ? WHERE id = ?",
                (at, note, section, esc_id))
    # the note in the trail too: a reopen clears it from the row, a second resolve (the
    # CLI) replaces it, and neither may lose what the team wrote
    said = f"section {section}; note: {note}" if section else f"note: {note}"
    audit.record(con, esc_id, at, actor, "resolved", said)
    return queries.get(con, esc_id)


def reopen(con: Connection, esc_id: str, at: float, actor: str) -> Escalation:
    """Back from resolved to where delivery left it: sent if the mail went out, failed
    if its delivery gave up, else queued (so it is delivered)."""
    row = queries.fetch_row(con, esc_id)
    _require(row, "reopen")
    if not row["question"]:  # an empty item in the open inbox, with no one to answer
        raise EscalationStateError(
            f"escalation {esc_id} cannot be reopened: its question and e-mail address were "
            "purged (retention)")
    status = ("sent" if row["sent_at"] is not None
              else "failed" if row["last_error"] and row["attempts"] else "queued")
    con.execute("UPDATE escalations SET status = ?, resolved_at = NULL, resolution_note = NULL,"
                " resolution_section = NULL, next_attempt_at = ? WHERE id = ?",
                (status, at, esc_id))
    audit.record(con, esc_id, at, actor, "reopened", f"now {status}")
    return queries.get(con, esc_id)


def assign(con: Connection, esc_id: str, agent: str | None, at: float,
           actor: str) -> Escalation:
    """Give it to `agent` (a console user name), or to nobody when blank."""
    agent = " ".join((agent or "").split())
    if len(agent) > MAX_AGENT_CHARS or not all(c.isprintable() for c in agent):
        raise PolicyQAError(f"agent name must be at most {MAX_AGENT_CHARS} printable "
                            f"characters; got {agent[:40]!r}")
    row = queries.fetch_row(con, esc_id)
    _require(row, "assign")
    if (row["assignee"] or "") == agent:
        return queries.get(con, esc_id)
    con.execute("UPDATE escalations SET assignee = ? WHERE id = ?", (agent or None, esc_id))
    if agent:
        audit.record(con, esc_id, at, actor, "assigned", agent)
    else:
        audit.record(con, esc_id, at, actor, "unassigned", row["assignee"] or "")
    return queries.get(con, esc_id)


def replied(con: Connection, esc_id: str, at: float, actor: str) -> Escalation:
    """The agent says they answered the asker by e-mail (the first response)."""
    row = queries.fetch_row(con, esc_id)
    _require(row, "reply")
    audit.record(con, esc_id, at, actor, "replied")
    return queries.get(con, esc_id)
