"""The daily reminder to the privacy inbox: one e-mail listing the open requests that
are overdue or due within qa/rights/urgency.py's SOON_DAYS (their response date, or
their date to confirm receipt while nobody has written to the requester), most urgent
first. `policy-qa requests remind` sends it; run it once a day (cron, a systemd timer).

The message is pure and keyed by the inbox and the day: its Message-ID is the same for
a second run on the same day (mail clients and the Maildir transport keep one copy),
and a day with nothing pressing sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from email import policy as email_policy
from email.message import EmailMessage

from qa.escalation.mail import body_text, message_id, one_line
from qa.escalation.records import validate_email
from qa.escalation.transport import Transport
from qa.rights.deadlines import local_day
from qa.rights.mail import console_line
from qa.rights.records import RightsRequest
from qa.rights.store import RequestStore
from qa.rights.urgency import flag_label, urgency

ORDER = {"overdue": 0, "soon": 1}


def pressing(requests: Iterable[RightsRequest], on: date) -> list[RightsRequest]:
    """The open requests that are overdue or due soon on `on`, overdue first, each
    group soonest due first."""
    flagged = [r for r in requests if urgency(r, on)]
    return sorted(flagged, key=lambda r: (ORDER[urgency(r, on)], r.respond_by, r.id))


def build_reminder(requests: list[RightsRequest], on: date, *, to: str, mail_from: str,
                   public_url: str = "") -> EmailMessage:
    """The reminder for one inbox on day `on` (requests as `pressing` returns them)."""
    overdue = sum(urgency(r, on) == "overdue" for r in requests)
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = validate_email(mail_from, allow_local=True)
    msg["To"] = validate_email(to, allow_local=True)
    msg["Subject"] = (f"[privacy requests] {overdue} overdue, {len(requests) - overdue} due "
                      f"soon — {on.isoformat()}")
    msg["Message-ID"] = message_id(f"remind-{on.isoformat()}-{to}")
    msg["Auto-Submitted"] = "auto-generated"
    lines = [f"Privacy rights requests that need the team, as of {on.isoformat()}:", ""]
    for r in requests:
        lines += [f"- {flag_label(r, on)}: {r.id}, {r.kind} ({r.jurisdiction}), {r.state}, "
                  f"due {r.respond_by}" + (f", confirm receipt by {r.confirm_by}"
                                           if r.state == "received" and r.confirm_by else ""),
                  f"  from {one_line(r.email, 254)}: {body_text(one_line(r.question, 160))}"]
    lines += ["", *console_line(public_url),
              "Each one: policy-qa requests show ID; record progress with "
              "policy-qa requests set-state ID STATE."]
    msg.set_content("\n".join(lines) + "\n", charset="utf-8")
    return msg


def send_reminders(store: RequestStore, transport: Transport, *, mail_from: str,
                   public_url: str = "") -> list[tuple[str, int]]:
    """Send each inbox its reminder for today (the store's clock, in its time zone);
    (inbox, requests listed) for each one sent."""
    on = local_day(store.clock(), store.rules)
    by_inbox: dict[str, list[RightsRequest]] = {}
    for request in pressing(store.list(), on):
        by_inbox.setdefault(request.to, []).append(request)
    sent = []
    for inbox, requests in sorted(by_inbox.items()):
        transport.send(build_reminder(requests, on, to=inbox, mail_from=mail_from,
                                      public_url=public_url))
        sent.append((inbox, len(requests)))
    return sent
