"""The e-mail of a rights request to the privacy inbox, and the delivery pass that
sends each one once.

`build_request_message` is pure: the same request always gives the same message,
down to the Message-ID derived from the request id (`qa.escalation.mail.message_id`),
so a retry after a crash mid-send (or an ambiguous SMTP failure) is the same e-mail,
which mail clients and the Maildir transport dedupe. Reply-To is the requester. User
text reaches headers only through `one_line`; the body goes through `body_text`.

`deliver_pending` is the outbox's delivery pattern over the request log: lease one
queued e-mail at a time in a transaction (`RequestStore.claim_mail`), send it with a
transport of qa/escalation/mail.py (SMTP or Maildir), then mark it sent; transient
errors retry with capped, jittered backoff; a permanent one, too many attempts or old
age makes it failed (`policy-qa requests resend-mail` queues it again). A deliverer
that dies after its claim leaves a lease that expires, and the next pass sends it.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from index.errors import EmailError
from qa.escalation.delivery import DeliveryReport, backoff_delay, delivery_options
from qa.escalation.mail import message_id, one_line, passage_lines, quoted
from qa.escalation.records import validate_email
from qa.escalation.transport import (
    PermanentDeliveryError,
    TransientDeliveryError,
    Transport,
    transport_from_settings,
)
from qa.rights.records import MailClaim, RightsRequest
from qa.rights.store import RequestStore

__all__ = ["JURISDICTION_NAMES", "build_request_message", "deliver_pending",
           "deliver_requests_once", "subject"]

logger = logging.getLogger(__name__)

JURISDICTION_NAMES = {
    "eu_uk": "EU / UK (GDPR, UK GDPR)",
    "california": "California (CCPA/CPRA)",
    "us_other": "another US state",
    "elsewhere": "elsewhere",
    "unknown": "unknown (the strictest deadlines apply)",
}


def subject(request: RightsRequest) -> str:
    """`[privacy request] <kind> — due <date>`."""
    return f"[privacy request] {one_line(request.kind, 40)} — due {one_line(request.due, 20)}"


def console_line(public_url: str, req_id: str = "") -> list[str]:
    """Where the team works on requests (the console's Requests tab; with `req_id`, a
    link that opens that request there), if the server's public address
    (POLICY_QA_PUBLIC_URL) is known."""
    url = one_line(public_url or "", 200).rstrip("/")
    if not url.startswith(("http://", "https://")):
        return []
    if req_id:
        return [f"Work on it in the support console: {url}/console/?request={req_id}", ""]
    return [f"Work on it in the support console (Requests tab): {url}/console/", ""]


def build_request_message(request: RightsRequest, *, mail_from: str,
                          public_url: str = "") -> EmailMessage:
    """The e-mail that tells the privacy inbox (`request.to`) about one request; with
    `public_url` it says where the console is."""
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = validate_email(mail_from, allow_local=True)
    msg["To"] = validate_email(request.to, allow_local=True)
    msg["Reply-To"] = validate_email(request.email)
    msg["Subject"] = subject(request)
    msg["Date"] = format_datetime(datetime.fromtimestamp(request.received_at, UTC))
    msg["Message-ID"] = message_id(request.id)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Policy-QA-Request"] = one_line(request.id, 64)
    msg.set_content(_body(request, console_line(public_url, request.id)), charset="utf-8")
    return msg


def _body(request: RightsRequest, console: list[str]) -> str:
    place = JURISDICTION_NAMES.get(request.jurisdiction, request.jurisdiction)
    confirm = [f"Confirm receipt by: {request.confirm_by}"] if request.confirm_by else []
    extension = request.extendable_to or "no extension allowed"
    lines = [
        "A visitor asked the assistant to act on a privacy right. The request is logged",
        "and its legal clock runs from the time it was received.",
        "",
        f"Kind: {request.kind}",
        f"Jurisdiction: {request.jurisdiction} — {place}",
        f"Received: {request.received_iso} (UTC)" + (
            "" if request.time_zone == "UTC" else
            f", {request.received_local} (the day the deadlines count from)"),
        *confirm,
        f"Due: {request.due} (at the latest, if extended: {extension})",
        f"Reference: {request.id}",
        f"Requester's e-mail: {request.email} (reply to this e-mail to answer them)",
        "",
        "Identity: NOT VERIFIED. The assistant did not verify the requester's identity;",
        "verify it before acting on the request.",
        "",
        "The visitor's message:",
        quoted(request.question),
        "",
        "Details they gave:",
        quoted(request.details) if request.details else "(none)",
        "",
        "Policy passages the assistant quoted to them:",
        *passage_lines(request),
        "",
        *console,
        "Record progress (identity_check, in_progress, extended, done, refused) with:",
        f'  policy-qa requests set-state {request.id} in_progress --note "..."',
    ]
    return "\n".join(lines) + "\n"


def deliver_pending(
    store: RequestStore,
    transport: Transport,
    *,
    mail_from: str,
    public_url: str = "",
    now: float | None = None,
    max_attempts: int = 8,
    max_age_seconds: float = 72 * 3600.0,
    base: float = 30.0,
    cap: float = 3600.0,
    rng: random.Random | None = None,
    limit: int = 100,
    lease_seconds: float | None = None,
) -> DeliveryReport:
    """One pass over the request e-mails due at `now` (default: the store's clock); a
    fixed `now` simulates time. E-mails retried in this pass are due strictly later,
    so each is tried at most once per pass. Takes `delivery_options(settings)`."""
    mail_from = validate_email(mail_from, allow_local=True)  # a setting: fail before claiming
    rng = rng or random.Random()
    lease = lease_seconds or max(60.0, 12.0 * float(getattr(transport, "timeout", 10.0)))
    due_by = store.clock() if now is None else now
    tally = {"sent": 0, "retried": 0, "failed": 0}
    while sum(tally.values()) < limit:
        claim = store.claim_mail(store.clock() if now is None else now, lease, due_by=due_by)
        if claim is None:
            break
        try:
            transport.send(build_request_message(claim.request, mail_from=mail_from,
                                                 public_url=public_url))
        except (PermanentDeliveryError, EmailError) as exc:
            store.mark_mail_failed(claim, f"permanent: {exc}")
            logger.warning("rights request %s: e-mail failed permanently: %s",
                           claim.request.id, exc)
            tally["failed"] += 1
            continue
        except Exception as exc:  # transient, or a bug: keep the e-mail, never lose it
            error = str(exc) if isinstance(exc, TransientDeliveryError) \
                else f"unexpected {type(exc).__name__}: {exc}"
            t = store.clock() if now is None else now
            tally[_retry(store, claim, error, t, max_attempts, max_age_seconds,
                         backoff_delay(claim.request.mail_attempts, base=base, cap=cap,
                                       rng=rng))] += 1
            continue
        if not store.mark_mail_sent(claim, store.clock() if now is None else now):
            logger.warning("rights request %s was e-mailed after its lease expired",
                           claim.request.id)
        tally["sent"] += 1
    return DeliveryReport(**tally)


def _retry(store: RequestStore, claim: MailClaim, error: str, t: float, max_attempts: int,
           max_age_seconds: float, delay: float) -> str:
    request = claim.request
    age = t - request.received_at
    if request.mail_attempts >= max_attempts or age >= max_age_seconds:
        why = (f"{request.mail_attempts} attempts" if request.mail_attempts >= max_attempts
               else f"{age / 3600:.1f} hours")
        store.mark_mail_failed(claim, f"gave up after {why}: {error}")
        logger.warning("rights request %s: e-mail failed: %s", request.id, error)
        return "failed"
    store.mark_mail_retry(claim, error, t + delay)
    logger.info("rights request %s: e-mail retried in %.0f s: %s", request.id, delay, error)
    return "retried"


def deliver_requests_once(store: RequestStore, settings: Any, *,
                          transport: Transport | None = None,
                          now: float | None = None) -> DeliveryReport:
    """One pass with the transport and options of Settings (`policy-qa requests
    deliver`), the same as the outbox's."""
    transport = transport or transport_from_settings(settings)
    return deliver_pending(store, transport, now=now, **delivery_options(settings))
