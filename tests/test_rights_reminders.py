"""The daily reminder of overdue and due-soon rights requests (qa/rights/reminders.py,
`policy-qa requests remind`), received by a real SMTP server on loopback: one e-mail per
inbox and day, the most urgent first, nothing on a quiet day, hostile text kept out of
its headers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from smtp_server import SmtpServer

from qa.escalation.transport import SmtpTransport
from qa.rights.reminders import build_reminder, pressing, send_reminders
from qa.rights.store import RequestStore

INBOX = "privacy@koreroapp.example"
MAIL_FROM = "policy-qa@koreroapp.example"


def at(*day: int) -> float:
    return datetime(*day, 12, tzinfo=UTC).timestamp()


@pytest.fixture
def store(tmp_path: Path):
    now = [at(2027, 1, 4)]  # a Monday
    store = RequestStore(tmp_path / "requests.sqlite3", clock=lambda: now[0])
    late = store.submit("deletion", "eu_uk", "ana@example.org", "delete my data", to=INBOX)
    now[0] = at(2027, 1, 25)
    ca = store.submit("access", "california", "bo@example.org",
                      "send me my data\r\nBcc: all@evil.example", to=INBOX)
    now[0] = at(2027, 2, 1)
    store.submit("access", "eu_uk", "cy@example.org", "send me my data", to=INBOX)  # fresh
    now[0] = at(2027, 2, 8)  # the deletion is due 02-04; ca must be confirmed by 02-08
    return store, now, late, ca


def test_pressing_requests_overdue_first(store):
    store, _, late, ca = store
    found = pressing(store.list(), date(2027, 2, 8))
    assert [r.id for r in found] == [late.id, ca.id]


def test_one_reminder_a_day_reaches_the_inbox_over_smtp(store):
    store, now, late, ca = store
    with SmtpServer() as server:
        transport = SmtpTransport(server.host, server.port, timeout=2.0)
        assert send_reminders(store, transport, mail_from=MAIL_FROM,
                              public_url="https://help.example.com") == [(INBOX, 2)]
        send_reminders(store, transport, mail_from=MAIL_FROM)  # a second run that day
        store.set_state(late.id, "in_progress")
        store.set_state(late.id, "done")
        store.set_state(ca.id, "identity_check")
        now[0] = at(2027, 2, 9)
        assert send_reminders(store, transport, mail_from=MAIL_FROM) == []  # quiet day
        received = list(server.handler.received)
    assert len(received) == 2 and received[0].rcpt_tos == (INBOX,)
    first, again = (r.message for r in received)
    assert first["Message-ID"] == again["Message-ID"]  # the same e-mail, kept once
    assert first["Subject"] == "[privacy requests] 1 overdue, 1 due soon — 2027-02-08"
    assert "Bcc" not in first and "all@evil.example" not in str(first["Subject"])
    body = first.get_content()
    assert body.index(late.id) < body.index(ca.id)
    assert f"OVERDUE by 4 days: {late.id}, deletion (eu_uk), received, due 2027-02-04" in body
    assert f"CONFIRM RECEIPT TODAY: {ca.id}" in body
    assert "https://help.example.com/console/" in body


def test_the_cli_sends_the_reminder_to_the_maildir(tmp_path, monkeypatch, capsys):
    import mailbox
    import time

    from ui.cli.main import main

    monkeypatch.setenv("POLICY_QA_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    monkeypatch.setenv("POLICY_QA_MAILDIR", str(tmp_path / "maildir"))
    monkeypatch.delenv("POLICY_QA_SMTP_HOST", raising=False)
    monkeypatch.delenv("POLICY_QA_CONFIG", raising=False)
    assert main(["requests", "remind"]) == 0
    assert "nothing overdue or due soon" in capsys.readouterr().out
    past = RequestStore(tmp_path / "requests.sqlite3", clock=lambda: time.time() - 60 * 86400)
    past.submit("deletion", "eu_uk", "ana@example.org", "delete my data", to=INBOX)
    assert main(["requests", "remind"]) == 0  # the CLI reads the same log, today
    assert f"reminded {INBOX} of 1 request(s)" in capsys.readouterr().out
    mails = list(mailbox.Maildir(tmp_path / "maildir", create=False))
    assert len(mails) == 1 and "1 overdue, 0 due soon" in mails[0]["Subject"]


def test_the_message_is_the_same_for_the_same_day(store):
    store, *_ = store
    found = pressing(store.list(), date(2027, 2, 8))
    one = build_reminder(found, date(2027, 2, 8), to=INBOX, mail_from=MAIL_FROM)
    two = build_reminder(found, date(2027, 2, 8), to=INBOX, mail_from=MAIL_FROM)
    other = build_reminder(found, date(2027, 2, 9), to=INBOX, mail_from=MAIL_FROM)
    assert one.as_bytes() == two.as_bytes()
    assert one["Message-ID"] != other["Message-ID"]
