"""What a logged rights request is: the frozen `RightsRequest`, `RequestEvent` and
`MailClaim` records, the states and their allowed moves, the checks that clean input
before it is stored, turning stored rows back into records, and the flat export rows
(with their CSV and JSON text).

Nothing here touches the database; the table and its writes are qa/rights/store.py.

States: received -> identity_check -> in_progress -> done, with refused (a reason is
required) from any open state, and extended (a reason is required; the new due date
comes from `qa.rights.deadlines.extend`; once only) from any open state but extended.
After an extension the work goes on (identity_check, in_progress, done, refused).
done and refused are final.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from index.errors import EscalationStateError, QuestionError
from qa.escalation.mail import body_text, one_line
from qa.escalation.records import MAX_NOTE_CHARS, clean_passages
from qa.records import Passage
from qa.rights.deadlines import Deadlines, day_in, zone

__all__ = [
    "EXPORT_FIELDS", "FINAL_STATES", "MAIL_STATUSES", "MAX_DETAILS_CHARS", "STATES",
    "TRANSITIONS", "MailClaim", "RequestEvent", "RequestInputError", "RequestStateError",
    "RightsRequest", "check_choice", "check_transition", "clean_actor", "clean_details",
    "clean_text", "export_row", "from_row", "iso_time", "to_csv", "to_json",
]

STATES = ("received", "identity_check", "in_progress", "extended", "done", "refused")
FINAL_STATES = ("done", "refused")
NEEDS_REASON = ("refused", "extended")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("identity_check", "in_progress", "extended", "refused"),
    "identity_check": ("in_progress", "extended", "refused"),
    "in_progress": ("done", "extended", "refused"),
    "extended": ("identity_check", "in_progress", "done", "refused"),
    "done": (),
    "refused": (),
}
MAIL_STATUSES = ("queued", "sent", "failed")
MAX_DETAILS_CHARS = 4000
MAX_ACTOR_CHARS = 100


class RequestInputError(QuestionError):
    """A rights request's input is unusable (unknown kind, state or jurisdiction, details
    too long, a missing reason). A QuestionError, so the web answers 400."""


class RequestStateError(EscalationStateError):
    """The request's state does not allow this move (a final state, a second extension,
    an extension past the first deadline). An EscalationStateError, so the web answers
    409 and the CLI exits 2, like the outbox's state errors."""


@dataclass(frozen=True)
class RequestEvent:
    """One change of a request's state, as appended to `request_events` (never
    changed or deleted). `from_state` is None for the submission itself."""

    at: float
    from_state: str | None
    to_state: str
    note: str
    reason: str
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at_iso": iso_time(self.at)}


@dataclass(frozen=True)
class RightsRequest:
    """One rights request as stored: what was asked, by whom, its legal clock (ISO
    dates), its state and history, and the delivery of its e-mail to the privacy inbox
    (`to`). `client` is a keyed hash, never the raw identifier."""

    id: str
    kind: str
    jurisdiction: str
    email: str
    details: str
    question: str
    passages: tuple[Passage, ...]
    client: str
    to: str
    received_at: float
    confirm_by: str | None
    due: str
    extendable_to: str | None
    extended_due: str | None
    state: str
    closed_at: float | None
    mail_status: str
    mail_attempts: int
    mail_next_at: float
    mail_error: str | None
    mail_sent_at: float | None
    history: tuple[RequestEvent, ...] = ()
    time_zone: str = "UTC"  # the deployment's (qa/rights/deadlines.py), not stored per row

    @property
    def respond_by(self) -> str:
        """The due date in force: the extended one once extended."""
        return self.extended_due or self.due

    @property
    def received_iso(self) -> str:
        return iso_time(self.received_at)

    @property
    def received_local(self) -> str:
        """When it was received, to the minute, in the deployment's time zone, whose
        calendar day the deadlines count from: "2026-12-08 12:26 Pacific/Kiritimati"."""
        moment = datetime.fromtimestamp(self.received_at, zone(self.time_zone))
        return f"{moment:%Y-%m-%d %H:%M} {self.time_zone}"

    @property
    def on_time(self) -> bool | None:
        """For a done request, whether it was done on or before its due date (the
        calendar day in the deployment's time zone); None while open or when refused."""
        if self.state != "done" or self.closed_at is None:
            return None
        return day_in(self.closed_at, self.time_zone).isoformat() <= self.respond_by

    def deadlines(self) -> Deadlines:
        """The clock as `qa.rights.deadlines` computes with it (for `extend`)."""
        def day(text: str | None) -> date | None:
            return date.fromisoformat(text) if text else None
        return Deadlines(day(self.confirm_by), date.fromisoformat(self.respond_by),
                         day(self.extendable_to), extended=self.extended_due is not None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passages"] = [p.to_dict() for p in self.passages]
        data["history"] = [e.to_dict() for e in self.history]
        data.update(respond_by=self.respond_by, received_iso=self.received_iso,
                    on_time=self.on_time)
        return data


@dataclass(frozen=True)
class MailClaim:
    """A leased request e-mail: only the holder of `token` may mark it sent/retry/failed."""

    request: RightsRequest
    token: str


# --- input checks ----------------------------------------------------------------------

def iso_time(timestamp: float) -> str:
    """A timestamp as UTC ISO 8601 to the second, e.g. 2027-03-15T09:30:00+00:00."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def check_choice(value: str, choices: Iterable[str], what: str) -> str:
    """`value` if it is one of `choices`, else RequestInputError naming both."""
    choices = tuple(choices)
    if value not in choices:
        raise RequestInputError(f"{what} must be one of {', '.join(choices)}. "
                                f"Currently, {what} is {str(value)[:60]!r}")
    return value


def clean_text(text: str | None, limit: int, what: str) -> str:
    """Multi-line free text without control or invisible characters, stripped; "" for
    None; RequestInputError when it is not text or longer than `limit`."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise RequestInputError(f"{what} must be text, not {type(text).__name__}")
    cleaned = body_text(text).strip()
    if len(cleaned) > limit:
        raise RequestInputError(f"{what} is too long: {len(cleaned)} characters "
                                f"(limit {limit})")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestInputError(f"{what} is not valid Unicode text") from None
    return cleaned


def clean_details(details: str | None) -> str:
    """The visitor's optional details, cleaned and at most MAX_DETAILS_CHARS long."""
    return clean_text(details, MAX_DETAILS_CHARS, "details")


def clean_actor(actor: str | None) -> str:
    """Who made a change, on one line (at most MAX_ACTOR_CHARS)."""
    return one_line(str(actor or ""), MAX_ACTOR_CHARS)


def check_transition(request: RightsRequest, to_state: str, reason: str) -> None:
    """RequestInputError for an unknown state or a missing reason, RequestStateError
    when the request's state does not allow the move."""
    check_choice(to_state, STATES, "state")
    allowed = TRANSITIONS[request.state]
    if to_state not in allowed:
        raise RequestStateError(
            f"request {request.id} is {request.state}; it cannot move to {to_state} "
            f"(allowed: {', '.join(allowed) or 'none, it is final'})")
    if to_state in NEEDS_REASON and not reason:
        raise RequestInputError(f"a reason is required to make request {request.id} "
                                f"{to_state}")


def clean_note(note: str | None, what: str = "note") -> str:
    return clean_text(note, MAX_NOTE_CHARS, what)


# --- rows --------------------------------------------------------------------------------

def event_from_row(row: Mapping[str, Any]) -> RequestEvent:
    return RequestEvent(at=row["at"], from_state=row["from_state"], to_state=row["to_state"],
                        note=row["note"], reason=row["reason"], actor=row["actor"])


def from_row(row: sqlite3.Row, events: Iterable[RequestEvent] = (), time_zone: str = "UTC"
             ) -> RightsRequest:
    """The record for one row of the requests table, with its history."""
    passages = clean_passages(json.loads(row["passages"] or "[]"))
    columns = {name: row[name] for name in _COLUMNS}
    return RightsRequest(**columns, passages=passages, to=row["recipient"],
                         history=tuple(events), time_zone=time_zone)


# the fields of a RightsRequest stored as columns of the same name
_COLUMNS = tuple(f.name for f in fields(RightsRequest)
                 if f.name not in ("passages", "to", "history", "time_zone"))


EXPORT_FIELDS = (
    "id", "kind", "jurisdiction", "state", "received_at", "confirm_by", "due",
    "extended_due", "respond_by", "closed_at", "on_time", "email", "question", "details",
    "passages", "mail_status", "mail_attempts", "mail_sent_at", "history",
)


def export_row(request: RightsRequest) -> dict[str, str]:
    """One flat row of text values (the same for CSV and JSON): times as UTC ISO,
    passages and history as JSON text."""
    def when(timestamp: float | None) -> str:
        return "" if timestamp is None else iso_time(timestamp)
    on_time = {None: "", True: "yes", False: "no"}[request.on_time]
    row = {
        "id": request.id, "kind": request.kind, "jurisdiction": request.jurisdiction,
        "state": request.state, "received_at": request.received_iso,
        "confirm_by": request.confirm_by or "", "due": request.due,
        "extended_due": request.extended_due or "", "respond_by": request.respond_by,
        "closed_at": when(request.closed_at), "on_time": on_time, "email": request.email,
        "question": request.question, "details": request.details,
        "passages": json.dumps([p.to_dict() for p in request.passages], ensure_ascii=False),
        "mail_status": request.mail_status, "mail_attempts": str(request.mail_attempts),
        "mail_sent_at": when(request.mail_sent_at),
        "history": json.dumps([e.to_dict() for e in request.history], ensure_ascii=False),
    }
    return {name: row[name] for name in EXPORT_FIELDS}


NESTED = ("passages", "history")  # JSON text in a CSV cell, arrays in a JSON export


def to_json(rows: Iterable[Mapping[str, str]]) -> str:
    """Export rows as one JSON array, `passages` and `history` as arrays."""
    out = [{**row, **{k: json.loads(row[k] or "[]") for k in NESTED if k in row}}
           for row in rows]
    return json.dumps(out, ensure_ascii=False, indent=1) + "\n"


# a spreadsheet runs a cell that starts like a formula; CSV cells starting so get a "'"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def to_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """Export rows as CSV with a header line; a cell that would start a spreadsheet
    formula (=, +, -, @) is prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "'" + v if v.startswith(_FORMULA) else v for k, v in row.items()})
    return out.getvalue()
