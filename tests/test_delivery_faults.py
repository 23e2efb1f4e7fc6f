"""Delivery under faults, against a real SMTP server (aiosmtpd) and real SQLite files:
server down, 451s, a stall after the message was stored, 550, crashes (SIGKILL),
two deliverers at once, the background worker."""

from __future__ import annotations

import logging
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from smtp_server import SmtpServer, free_port

from index.errors import EmailError
from qa.escalation.delivery import DeliveryWorker, backoff_delay, deliver_due
from qa.escalation.outbox import Outbox
from qa.escalation.transport import SmtpTransport

INBOX = "privacy@koreroapp.example"
MAIL_FROM = "policy-qa@koreroapp.example"
ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {"dedupe_window_seconds": 3600, "escalations_per_hour": 100, "retention_days": 30}


def open_outbox(path: Path) -> Outbox:
    return Outbox(path, **OPTIONS)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "outbox.sqlite3"


def deliver(outbox: Outbox, port: int, now: float | None = None, **overrides):
    options = {"max_attempts": 5, "max_age_seconds": 3600.0, "base": 2.0, "cap": 60.0,
               "rng": random.Random(7)}
    options.update(overrides)
    return deliver_due(outbox, SmtpTransport("127.0.0.1", port, timeout=1.0),
                       mail_from=MAIL_FROM, now=now, **options)


def later(outbox: Outbox, esc_id: str) -> float:
    """A moment after the escalation's next attempt is due."""
    return outbox.get(esc_id).next_attempt_at + 0.01


def test_server_down_then_back_delivers_exactly_once(db: Path) -> None:
    outbox = open_outbox(db)
    port = free_port()  # nothing listens here yet
    esc = outbox.enqueue("Do you share my location with advertisers?", to=INBOX)
    now = time.time()

    report = deliver(outbox, port, now=now)
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    row = outbox.get(esc.id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at > now
    assert "refused" in row.last_error.lower()

    assert deliver(outbox, port, now=row.next_attempt_at - 0.001).sent == 0  # not yet due
    with SmtpServer(port) as server:
        assert deliver(outbox, port, now=later(outbox, esc.id)).sent == 1
        assert deliver(outbox, port, now=later(outbox, esc.id) + 3600).sent == 0
        assert server.handler.message_ids() == [f"<{esc.id}@policy-qa.invalid>"]
    row = outbox.get(esc.id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_two_451_then_250_is_one_message_after_three_attempts(db: Path) -> None:
    outbox = open_outbox(db)
    with SmtpServer() as server:
        server.handler.fail_next = 2
        esc = outbox.enqueue("Can I download a copy of my data?", to=INBOX)
        outcomes = [deliver(outbox, server.port, now=later(outbox, esc.id)) for _ in range(3)]
        assert [(r.sent, r.retried) for r in outcomes] == [(0, 1), (0, 1), (1, 0)]
        assert server.handler.attempts == 3
        assert len(server.handler.received) == 1
    row = outbox.get(esc.id)
    assert (row.status, row.attempts) == ("sent", 3)
    assert "451" in row.last_error


def test_stall_after_storing_retries_with_the_same_message_id(db: Path) -> None:
    outbox = open_outbox(db)
    with SmtpServer() as server:
        server.handler.stall_next = 1
        server.handler.stall_seconds = 2.5  # the client gives up after 1 s
        esc = outbox.enqueue("Do you read my messages?", to=INBOX)
        first = deliver(outbox, server.port, now=later(outbox, esc.id))
        assert first.retried == 1
        assert "timed out" in outbox.get(esc.id).last_error.lower()
        second = deliver(outbox, server.port, now=later(outbox, esc.id))
        assert second.sent == 1
        ids = server.handler.message_ids()
    # the server got it twice (ambiguous failure), but as one message the inbox dedupes
    assert ids == [f"<{esc.id}@policy-qa.invalid>"] * 2
    assert server.handler.received[0].data == server.handler.received[1].data
    assert outbox.get(esc.id).status == "sent"


def test_permanent_550_is_a_dead_letter_until_resent(db: Path) -> None:
    outbox = open_outbox(db)
    with SmtpServer() as server:
        server.handler.reject = True
        esc = outbox.enqueue("Who can see my profile?", to=INBOX)
        assert deliver(outbox, server.port).failed == 1
        row = outbox.get(esc.id)
        assert (row.status, row.attempts) == ("failed", 1)
        assert "550" in row.last_error and "Mailbox unavailable" in row.last_error
        assert deliver(outbox, server.port, now=time.time() + 10_000).failed == 0  # stays dead

        server.handler.reject = False
        again = outbox.resend(esc.id)
        assert (again.status, again.attempts, again.last_error) == ("queued", 0, None)
        resent = outbox.events(esc.id)[-1]  # the error it had failed with, kept there
        assert resent.action == "resent" and "550" in resent.detail
        assert deliver(outbox, server.port, now=later(outbox, esc.id)).sent == 1
        assert server.handler.message_ids() == [f"<{esc.id}@policy-qa.invalid>"]
    assert outbox.get(esc.id).status == "sent"


def test_too_many_attempts_fails_with_the_error_kept(db: Path) -> None:
    outbox = open_outbox(db)
    port = free_port()
    esc = outbox.enqueue("How do I close my account?", to=INBOX)
    deliver(outbox, port, max_attempts=2)
    report = deliver(outbox, port, now=later(outbox, esc.id), max_attempts=2)
    assert report.failed == 1
    row = outbox.get(esc.id)
    assert row.status == "failed" and row.attempts == 2
    assert "gave up after 2 attempts" in row.last_error and "refused" in row.last_error.lower()


def test_too_old_fails(db: Path) -> None:
    outbox = open_outbox(db)
    esc = outbox.enqueue("Is my data stored in the EU?", to=INBOX)
    report = deliver(outbox, free_port(), now=esc.created_at + 7200, max_age_seconds=3600)
    assert report.failed == 1
    assert "gave up after 2.0 hours" in outbox.get(esc.id).last_error


CHILD = """
import sys, time
from qa.escalation.outbox import Outbox
outbox = Outbox(sys.argv[1], dedupe_window_seconds=3600, escalations_per_hour=100,
                retention_days=30)
esc = outbox.enqueue("Do you keep my voice recordings?", to=sys.argv[2])
if sys.argv[3] == "claim":
    outbox.claim_due(limit=1, lease_seconds=60)  # mid-send: leased, attempt counted
print(esc.id, flush=True)
time.sleep(60)
"""


def enqueue_then_sigkill(db: Path, mode: str) -> str:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), INBOX, mode],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        esc_id = child.stdout.readline().strip()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    assert esc_id.startswith("esc_")
    return esc_id


def test_sigkill_after_commit_is_delivered_after_restart(db: Path) -> None:
    esc_id = enqueue_then_sigkill(db, "enqueue")
    outbox = open_outbox(db)  # a fresh process's view of the same file
    assert outbox.get(esc_id).status == "queued"
    with SmtpServer() as server:
        assert deliver(outbox, server.port).sent == 1
        assert server.handler.message_ids() == [f"<{esc_id}@policy-qa.invalid>"]


def test_sigkill_mid_send_is_delivered_once_its_lease_expires(db: Path) -> None:
    esc_id = enqueue_then_sigkill(db, "claim")
    outbox = open_outbox(db)
    row = outbox.get(esc_id)
    assert row.status == "queued" and row.attempts == 1 and row.lease_until is not None
    with SmtpServer() as server:
        assert deliver(outbox, server.port).sent == 0  # another deliverer may hold it
        assert deliver(outbox, server.port, now=row.lease_until + 1).sent == 1
        assert server.handler.message_ids() == [f"<{esc_id}@policy-qa.invalid>"]
    assert outbox.get(esc_id).attempts == 2


def test_two_deliverers_never_send_the_same_row(db: Path) -> None:
    ids = [open_outbox(db).enqueue(f"Question number {n} about cookies?", to=INBOX).id
           for n in range(12)]
    with SmtpServer() as server:
        workers = [threading.Thread(target=deliver, args=(open_outbox(db), server.port))
                   for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        received = server.handler.message_ids()
    assert sorted(received) == sorted(f"<{i}@policy-qa.invalid>" for i in ids)
    assert open_outbox(db).counts()["sent"] == 12


def test_worker_delivers_in_the_background_and_stops_promptly(db: Path) -> None:
    outbox = open_outbox(db)
    with SmtpServer() as server:
        worker = DeliveryWorker(outbox, SmtpTransport("127.0.0.1", server.port, timeout=1.0),
                                mail_from=MAIL_FROM, interval=30.0, max_attempts=5,
                                max_age_seconds=3600, base=1.0, cap=10.0)
        worker.start()
        try:
            esc = outbox.enqueue("Do you use cookies for ads?", to=INBOX)
            worker.wake()
            deadline = time.monotonic() + 10
            while not server.handler.received and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            started = time.monotonic()
            worker.stop()
            stopped_in = time.monotonic() - started
    assert not worker.running
    assert stopped_in < 2.0  # did not wait out the 30 s interval
    assert server.handler.message_ids() == [f"<{esc.id}@policy-qa.invalid>"]
    assert outbox.get(esc.id).status == "sent"


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    rng = random.Random(1)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (500, 60.0)]:
        delays = [backoff_delay(attempts, base=2.0, cap=60.0, rng=rng) for _ in range(300)]
        assert all(0 < d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling and min(delays) < 0.2 * ceiling  # jittered


def test_question_text_and_asker_address_never_reach_the_logs(
        db: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    outbox = open_outbox(db)
    secret = "Zanzibar-unique-marker"
    with SmtpServer() as server:
        server.handler.fail_next = 1
        esc = outbox.enqueue(f"Do you keep {secret} in my file?", to=INBOX,
                             email="very.private@example.org")
        deliver(outbox, server.port)  # a 451: retried
        deliver(outbox, server.port, now=later(outbox, esc.id))  # sent
        server.handler.reject = True
        outbox.enqueue(f"Another {secret} question?", to=INBOX)
        deliver(outbox, server.port)  # a 550: failed
    assert outbox.counts() == {"queued": 0, "sent": 1, "failed": 1, "resolved": 0}
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("qa."))
    assert esc.id in ours and "451" in ours and "550" in ours  # what happened, by id
    assert secret not in ours and "very.private" not in ours  # at any level, not only INFO


@pytest.mark.parametrize(("reply", "status"), [("550 5.1.1 No such user", "failed"),
                                                ("450 4.2.1 Mailbox busy", "queued")])
def test_recipient_refused_is_sorted_by_reply_code(db: Path, reply: str, status: str) -> None:
    outbox = open_outbox(db)
    with SmtpServer() as server:
        server.handler.rcpt_reply = reply
        esc = outbox.enqueue("Is my data sold?", to=INBOX)
        deliver(outbox, server.port)
        assert server.handler.received == []
    row = outbox.get(esc.id)
    assert row.status == status
    assert f"recipient refused: {reply}" in row.last_error


def test_worker_refuses_a_bad_sender_address_up_front(db: Path) -> None:
    with pytest.raises(EmailError, match="invalid e-mail address 'policy-qa'"):
        DeliveryWorker(open_outbox(db), SmtpTransport("127.0.0.1", free_port()),
                       mail_from="policy-qa", interval=1, max_attempts=1,
                       max_age_seconds=1, base=1, cap=1)
