"""The e-mail of a rights request as the privacy inbox receives it (a real aiosmtpd
server on loopback): its fields, Reply-To the requester, the Message-ID from the
request id, hostile input kept out of the headers; delivery exactly once through
leases, a crash after the claim or mid-send, transient and permanent failures."""

from __future__ import annotations

import mailbox
import random
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from smtp_server import SmtpServer, free_port

from index.errors import EmailError
from qa.escalation.transport import MaildirTransport, SmtpTransport
from qa.rights.mail import build_request_message, deliver_pending
from qa.rights.store import RequestStore

INBOX = "privacy@koreroapp.example"
MAIL_FROM = "policy-qa@koreroapp.example"
ASKER = "Ana.Requester@Example.ORG"
MESSAGE = "Please delete my account and everything you hold about me."
DETAILS = "My username is ana_k.\nI signed up in 2024."
PASSAGES = [{
    "section": "Your rights", "anchor": "your-rights",
    "url": "https://koreroapp.com/privacy#your-rights",
    "quote": "You can ask us to delete your personal information at any time.",
    "score": 0.61,
}]
HEADERS = {"from", "to", "reply-to", "subject", "date", "message-id", "auto-submitted",
           "x-policy-qa-request", "content-type", "content-transfer-encoding",
           "mime-version"}
T0 = datetime(2027, 3, 15, 9, 30, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> RequestStore:
    return RequestStore(tmp_path / "requests.sqlite3", clock=clock)


@pytest.fixture
def server():
    with SmtpServer() as srv:
        yield srv


def smtp(server: SmtpServer) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, timeout=2.0)


def deliver(store: RequestStore, transport, now: float, **kw):
    return deliver_pending(store, transport, mail_from=MAIL_FROM, now=now, max_attempts=3,
                           base=10.0, cap=60.0, rng=random.Random(7), **kw)


def text(msg) -> str:
    """The plain-text body with the wire's CRLF line ends as newlines."""
    return msg.get_content().replace("\r\n", "\n")


def submit(store: RequestStore, **kw):
    return store.submit(kw.pop("kind", "deletion"), kw.pop("jurisdiction", "eu_uk"),
                        kw.pop("email", ASKER), kw.pop("question", MESSAGE), to=INBOX,
                        details=kw.pop("details", DETAILS), passages=PASSAGES, **kw)


def test_the_mail_arrives_once_with_every_field(store, server, clock):
    req = submit(store)
    report = deliver(store, smtp(server), T0)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    assert deliver(store, smtp(server), T0 + 3600).sent == 0  # never twice

    [got] = server.handler.received
    assert got.mail_from == MAIL_FROM and got.rcpt_tos == (INBOX,)
    msg = got.message
    assert {k.lower() for k in msg} == HEADERS
    assert all(len(msg.get_all(k)) == 1 for k in HEADERS)
    assert msg["Subject"] == "[privacy request] deletion — due 2027-04-15"
    assert msg["From"] == MAIL_FROM and msg["To"] == INBOX
    assert msg["Reply-To"] == "Ana.Requester@example.org"
    assert msg["Message-ID"] == f"<{req.id}@policy-qa.invalid>"
    assert msg["X-Policy-QA-Request"] == req.id
    assert parsedate_to_datetime(msg["Date"]).timestamp() == T0
    body = text(msg)
    for expected in ("Kind: deletion", "Jurisdiction: eu_uk", "GDPR",
                     "Received: 2027-03-15T09:30:00+00:00", "Due: 2027-04-15",
                     "if extended: 2027-06-15", f"Reference: {req.id}", "> " + MESSAGE,
                     "> My username is ana_k.\n> I signed up in 2024.",
                     PASSAGES[0]["quote"], PASSAGES[0]["url"], PASSAGES[0]["section"],
                     "did not verify the requester's identity"):
        assert expected in body, expected
    stored = store.get(req.id)
    assert "\nI signed up" not in body  # the visitor's lines are quoted, never the mail's own
    assert (stored.mail_status, stored.mail_attempts, stored.mail_sent_at) == ("sent", 1, T0)


def test_california_mail_names_the_confirmation_date(store, server):
    req = submit(store, kind="access", jurisdiction="california", details=None)
    deliver(store, smtp(server), T0)
    msg = server.handler.received[0].message
    assert msg["Subject"] == f"[privacy request] access — due {req.due}"
    body = text(msg)
    assert f"Confirm receipt by: {req.confirm_by}" in body and "CCPA" in body
    assert "Details they gave:\n(none)" in body


def test_cr_lf_injection_creates_no_header(store, server):
    hostile = "x\r\nBcc: victim@example.com\r\nSubject: hacked\r\n\r\nfake body"
    req = submit(store, details=hostile, question="Delete my data\r\nCc: evil@example.com")
    with pytest.raises(EmailError):
        submit(store, email="ana@example.org\r\nBcc: victim@example.com")
    with pytest.raises(EmailError):
        submit(store, email="ana@example.org\nReply-To: evil@example.com")
    assert deliver(store, smtp(server), T0).sent == 1
    [got] = server.handler.received
    msg = got.message
    assert {k.lower() for k in msg} == HEADERS
    assert msg["Subject"] == "[privacy request] deletion — due 2027-04-15"
    assert msg["Reply-To"] == "Ana.Requester@example.org"
    assert got.rcpt_tos == (INBOX,)
    assert b"\nBcc:" not in got.data.split(b"\r\n\r\n")[0]
    assert "Bcc: victim@example.com" in text(msg)  # quoted in the body, harmless
    # a stored address that was tampered with never reaches a header
    with pytest.raises(EmailError):
        build_request_message(replace(req, email="a@b.example\r\nBcc: x@y.example"),
                              mail_from=MAIL_FROM)


def test_a_crash_after_the_claim_is_delivered_once_when_the_lease_expires(store, server):
    req = submit(store)
    claim = store.claim_mail(T0, lease_seconds=60)  # ... and the deliverer dies here
    assert claim is not None and claim.request.id == req.id
    assert deliver(store, smtp(server), T0 + 30).sent == 0  # the lease still holds
    assert server.handler.received == []
    assert deliver(store, smtp(server), T0 + 61).sent == 1
    assert deliver(store, smtp(server), T0 + 3600).sent == 0
    assert server.handler.message_ids() == [f"<{req.id}@policy-qa.invalid>"]
    assert store.mark_mail_sent(claim, T0 + 62) is False  # the dead deliverer lost it
    assert store.get(req.id).mail_attempts == 2


def test_a_crash_mid_send_resends_the_same_message_id(store, server, tmp_path):
    req = submit(store)
    claim = store.claim_mail(T0, lease_seconds=60)
    smtp(server).send(build_request_message(claim.request, mail_from=MAIL_FROM))
    # the deliverer dies before mark_mail_sent: the next pass sends the same e-mail
    assert deliver(store, smtp(server), T0 + 61).sent == 1
    ids = server.handler.message_ids()
    assert ids == [f"<{req.id}@policy-qa.invalid>"] * 2
    first, second = (r.data for r in server.handler.received)
    assert first == second  # the very same message, which mail clients dedupe

    # the Maildir transport dedupes by Message-ID: one file however often it is sent
    maildir = MaildirTransport(tmp_path / "maildir")
    other = RequestStore(tmp_path / "other.sqlite3", clock=lambda: T0)
    req2 = submit(other)
    claim2 = other.claim_mail(T0, lease_seconds=60)
    maildir.send(build_request_message(claim2.request, mail_from=MAIL_FROM))
    assert deliver(other, maildir, T0 + 61).sent == 1
    messages = list(mailbox.Maildir(tmp_path / "maildir", create=False))
    assert [m["Message-ID"] for m in messages] == [f"<{req2.id}@policy-qa.invalid>"]


def test_transient_failures_retry_with_backoff_then_deliver(store, server):
    req = submit(store)
    server.handler.fail_next = 1
    report = deliver(store, smtp(server), T0)
    assert (report.sent, report.retried) == (0, 1)
    pending = store.get(req.id)
    assert pending.mail_status == "queued" and "451" in pending.mail_error
    assert T0 < pending.mail_next_at <= T0 + 10.0
    assert deliver(store, smtp(server), pending.mail_next_at - 0.001).sent == 0  # not yet
    assert deliver(store, smtp(server), T0 + 11).sent == 1
    assert store.get(req.id).mail_status == "sent"
    assert server.handler.message_ids() == [f"<{req.id}@policy-qa.invalid>"]


def test_no_server_is_transient_and_too_many_attempts_fail(store):
    req = submit(store)
    down = SmtpTransport("127.0.0.1", free_port(), timeout=1.0)
    assert deliver(store, down, T0).retried == 1
    assert deliver(store, down, T0 + 100).retried == 1
    assert deliver(store, down, T0 + 200).failed == 1  # max_attempts=3
    failed = store.get(req.id)
    assert failed.mail_status == "failed" and "gave up after 3 attempts" in failed.mail_error
    assert deliver(store, down, T0 + 300) == deliver(store, down, T0 + 400)  # nothing due


def test_a_permanent_refusal_fails_and_can_be_resent(store, server, clock):
    req = submit(store)
    server.handler.reject = True
    assert deliver(store, smtp(server), T0).failed == 1
    assert store.get(req.id).mail_error.startswith("permanent: server replied: 550")
    server.handler.reject = False
    clock.now = T0 + 60
    again = store.resend_mail(req.id)
    assert (again.mail_status, again.mail_error) == ("queued", None)  # no stale error shown
    assert deliver(store, smtp(server), T0 + 60).sent == 1
    assert server.handler.message_ids() == [f"<{req.id}@policy-qa.invalid>"]


def test_settings_with_a_public_url_give_the_console_link(store, server, clock):
    # deliver_requests_once takes the outbox's delivery_options(settings), which may
    # carry public_url; the request mail then says where the console is
    from types import SimpleNamespace

    from qa.rights.mail import deliver_requests_once

    req = submit(store)
    settings = SimpleNamespace(sender=MAIL_FROM, public_url="https://help.example.com/",
                               max_attempts=3, max_age_hours=72.0, retry_base_seconds=30.0,
                               retry_cap_seconds=3600.0)
    options = {"mail_from": MAIL_FROM, "public_url": settings.public_url,
               "max_attempts": 3, "max_age_seconds": 72 * 3600.0, "base": 30.0, "cap": 3600.0}
    assert deliver_pending(store, smtp(server), now=T0, **options).sent == 1
    assert (f"support console: https://help.example.com/console/?request={req.id}\n"
            in text(server.handler.received[0].message))  # opens that request
    plain = build_request_message(store.get(req.id), mail_from=MAIL_FROM)
    assert "/console/" not in text(plain)
    hostile = build_request_message(store.get(req.id), mail_from=MAIL_FROM,
                                    public_url="javascript:alert(1)")
    assert "javascript" not in text(hostile)
    assert deliver_requests_once(store, settings, transport=smtp(server), now=T0).sent == 0
