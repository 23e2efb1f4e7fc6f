"""How pressing an open request is, on a given day, as the console and the CLI flag it
(words, never colour alone): past its response date; past its date to confirm receipt
(a request still "received": nobody has written to the requester yet); or either date
within SOON_DAYS. Done and refused requests are never flagged."""

from __future__ import annotations

from datetime import date, timedelta

from qa.rights.records import FINAL_STATES, RightsRequest

SOON_DAYS = 3


def urgency(request: RightsRequest, on: date) -> str:
    """"overdue", "soon" or "" for `request` on day `on`."""
    if request.state in FINAL_STATES:
        return ""
    dates = [date.fromisoformat(request.respond_by)]
    if request.state == "received" and request.confirm_by:
        dates.append(date.fromisoformat(request.confirm_by))
    if min(dates) < on:
        return "overdue"
    return "soon" if min(dates) <= on + timedelta(days=SOON_DAYS) else ""


def flag_label(request: RightsRequest, on: date) -> str:
    """The words that carry the flag: the response date first, then the confirmation."""
    level = urgency(request, on)
    if not level:
        return ""
    respond = (date.fromisoformat(request.respond_by) - on).days
    confirm = (date.fromisoformat(request.confirm_by) - on).days if (
        request.state == "received" and request.confirm_by) else None
    if respond < 0:
        return f"OVERDUE by {_days(-respond)}"
    if confirm is not None and confirm < 0:
        return f"CONFIRM RECEIPT: OVERDUE by {_days(-confirm)}"
    if respond <= SOON_DAYS:
        return "DUE TODAY" if respond == 0 else f"DUE SOON: {_days(respond)}"
    return "CONFIRM RECEIPT TODAY" if confirm == 0 else f"CONFIRM RECEIPT: {_days(confirm)}"


def _days(n: int | None) -> str:
    return f"{n} day{'s' * (n != 1)}"
