"""No asker lost: the same question from the same client address (one NAT, one proxy)
shares an escalation, and every e-mail address left for it reaches the team."""

from __future__ import annotations

import mailbox

from qa.escalation.delivery import DeliveryWorker
from qa.escalation.outbox import Outbox
from qa.escalation.records import add_asker, askers
from qa.settings import Settings

QUESTION = "Are you HIPAA compliant?"


def outbox_at(tmp_path) -> tuple[Outbox, Settings]:
    settings = Settings(outbox=tmp_path / "o.sqlite3", maildir=tmp_path / "maildir")
    return Outbox.from_settings(settings), settings


def delivered(settings: Settings) -> list:
    box = mailbox.Maildir(settings.maildir, create=False)
    return list(box)  # a Maildir iterates over its messages


def test_two_askers_behind_one_address_both_reach_the_team(tmp_path) -> None:
    outbox, settings = outbox_at(tmp_path)
    a = outbox.enqueue(QUESTION, to="privacy@example.com", client="203.0.113.5",
                       email="a@example.org")
    b = outbox.enqueue(QUESTION, to="privacy@example.com", client="203.0.113.5",
                       email="b@example.org")
    assert a.id == b.id and askers(b.email) == ("a@example.org", "b@example.org")
    outbox.attach_email(a.id, "c@example.org")
    outbox.attach_email(a.id, "a@example.org")  # again: not listed twice
    DeliveryWorker.from_settings(outbox, settings).run_once()
    [mail] = delivered(settings)
    reply_to = str(mail["Reply-To"])
    assert all(f"{x}@example.org" in reply_to for x in "abc")
    assert reply_to.count("a@example.org") == 1


def test_an_asker_after_delivery_gets_an_escalation_of_their_own(tmp_path) -> None:
    outbox, settings = outbox_at(tmp_path)
    first = outbox.enqueue(QUESTION, to="privacy@example.com", client="203.0.113.5",
                           email="a@example.org")
    DeliveryWorker.from_settings(outbox, settings).run_once()
    late = outbox.enqueue(QUESTION, to="privacy@example.com", client="203.0.113.5",
                          email="b@example.org")
    again = outbox.enqueue(QUESTION, to="privacy@example.com", client="203.0.113.5")
    assert late.id != first.id and again.id == late.id  # no new address: deduplicated
    DeliveryWorker.from_settings(outbox, settings).run_once()
    reply_tos = sorted(str(m["Reply-To"]) for m in delivered(settings))
    assert reply_tos == ["a@example.org", "b@example.org"]


def test_add_asker_keeps_order_and_caps() -> None:
    stored = None
    for i in range(30):
        stored = add_asker(stored, f"u{i}@example.org")
    assert askers(stored)[:2] == ("u0@example.org", "u1@example.org")
    assert len(askers(stored)) == 20
