"""A Hypothesis state machine over the outbox on both back-ends, a real SQLite file and
a real PostgreSQL (tests/postgres_server.py; each example on an empty `outbox`
schema): enqueue, deliver (the inbox accepts, fails transiently or permanently),
resend, resolve, a deliverer crashing mid-send, restart (reopen the file, or a new
Outbox on the database: another replica) and time passing.

Invariant: every accepted escalation is queued, sent or visibly failed (or resolved
by an agent): never dropped, never sent twice under one id. The real-server paths
are covered in test_delivery_faults.py; here a fake in-memory inbox counts the
Message-IDs it accepted.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from index.errors import RateLimitedError
from qa.escalation.delivery import deliver_due
from qa.escalation.mail import message_id
from qa.escalation.outbox import EscalationStateError, Outbox
from qa.escalation.transport import PermanentDeliveryError, TransientDeliveryError

INBOX = "privacy@koreroapp.example"
# fsync-free tmpfs when there is one: this test is about logic, and hundreds of
# throw-away databases; durability across crashes is tested on disk elsewhere
RAM_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
QUESTIONS = ["Do you sell my data?", "do you SELL my data", "Who reads my messages?",
             "How long do you keep logs?", "Can I delete my account?"]


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


class FakeInbox:
    """Accepts, or fails transiently / permanently, and counts accepted Message-IDs."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: Counter[str] = Counter()

    def send(self, msg: EmailMessage) -> None:
        if self.mode == "transient":
            raise TransientDeliveryError("451 try again later")
        if self.mode == "permanent":
            raise PermanentDeliveryError("550 mailbox unavailable")
        self.received[str(msg["Message-ID"])] += 1

    def describe(self) -> str:
        return "fake inbox"


class OutboxMachine(RuleBasedStateMachine):
    escalations = Bundle("escalations")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-sm-", dir=RAM_DIR))
        self.clock = Clock()
        self.inbox = FakeInbox()
        self.accepted: set[str] = set()
        self.resolved: set[str] = set()
        self.outbox = self.reopen()

    def reopen(self) -> Outbox:
        return Outbox(self.dir / "outbox.sqlite3", dedupe_window_seconds=600,
                      escalations_per_hour=3, retention_days=30, clock=self.clock)

    def deliver(self, mode: str) -> None:
        self.inbox.mode = mode
        before = sum(self.inbox.received.values())
        report = deliver_due(self.outbox, self.inbox, mail_from="policy-qa@localhost",
                             now=self.clock(), max_attempts=3, max_age_seconds=10**9,
                             base=1.0, cap=8.0, rng=random.Random(0))
        assert report.sent == sum(self.inbox.received.values()) - before

    @rule(target=escalations, question=st.sampled_from(QUESTIONS),
          client=st.sampled_from(["", "client-a", "client-b"]),
          email=st.sampled_from([None, "asker@example.org"]))
    def enqueue(self, question: str, client: str, email: str | None):
        try:
            esc = self.outbox.enqueue(question, to=INBOX, email=email, client=client)
        except RateLimitedError as exc:
            assert client and exc.retry_after >= 1
            return multiple()
        self.accepted.add(esc.id)
        return esc.id

    @initialize(mode=st.sampled_from(["ok", "transient", "permanent"]))
    def inbox_starts(self, mode: str) -> None:
        self.inbox.mode = mode

    @rule(seconds=st.sampled_from([0.0, 5.0, 60.0, 700.0, 4000.0]),
          change=st.sampled_from([None, None, "ok", "transient", "permanent"]))
    def deliver_pass(self, seconds: float, change: str | None) -> None:
        """Time passes, the inbox may change (an outage lasts until the next change),
        then a delivery pass runs."""
        self.clock.t += seconds
        self.inbox.mode = change or self.inbox.mode
        self.deliver(self.inbox.mode)

    @rule()
    def restart(self) -> None:
        self.outbox = self.reopen()

    @rule()
    def deliverer_crashes_mid_send(self) -> None:
        self.outbox.claim_due(self.clock(), 1, lease_seconds=120)  # leased, never released

    @rule(esc_id=escalations)
    def resend(self, esc_id: str) -> None:
        status = self.outbox.get(esc_id).status
        event(f"resend a {status} escalation")
        if status == "failed":
            again = self.outbox.resend(esc_id)
            assert (again.status, again.attempts) == ("queued", 0)
        else:
            with pytest.raises(EscalationStateError):
                self.outbox.resend(esc_id)

    @rule(data=st.data())
    def resend_a_dead_letter(self, data: st.DataObject) -> None:
        failed = [e.id for e in self.outbox.list(status="failed", limit=None)]
        event(f"dead letters to choose from: {min(len(failed), 3)}")
        if failed:
            again = self.outbox.resend(data.draw(st.sampled_from(sorted(failed))))
            assert (again.status, again.attempts) == ("queued", 0)

    @rule(esc_id=escalations, roll=st.integers(0, 3))
    def resolve(self, esc_id: str, roll: int) -> None:
        if roll == 0:  # agents answer some, not most
            self.outbox.resolve(esc_id, "answered by the privacy team")
            self.resolved.add(esc_id)

    @invariant()
    def never_dropped_never_sent_twice(self) -> None:
        rows = {e.id: e for e in self.outbox.list(limit=None)}
        assert set(rows) == self.accepted
        assert all(n == 1 for n in self.inbox.received.values())
        for esc_id, row in rows.items():
            delivered = self.inbox.received[message_id(esc_id)]
            if row.status == "sent":
                assert delivered == 1 and row.sent_at is not None
            elif row.status in ("queued", "failed"):
                assert delivered == 0
            else:
                assert esc_id in self.resolved
            if row.status == "failed":
                assert row.last_error

    def teardown(self) -> None:
        try:
            for _ in range(6):  # long after every backoff and lease: all due now
                self.clock.t += 10_000
                self.deliver("ok")
            rows = self.outbox.list(limit=None)
            assert not [r.id for r in rows if r.status == "queued"]
            for row in rows:
                assert self.inbox.received[message_id(row.id)] == (row.sent_at is not None)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


OutboxMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestOutboxStateMachine = OutboxMachine.TestCase


class PostgresOutboxMachine(OutboxMachine):
    """The same machine on PostgreSQL; `url` is set by the `machine_database` fixture."""

    url = ""

    def __init__(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute("DROP SCHEMA IF EXISTS outbox CASCADE")  # a fresh outbox per example
        super().__init__()

    def reopen(self) -> Outbox:
        previous = getattr(self, "outbox", None)
        if previous is not None:
            previous.database.close()  # its pooled connections: not one left behind
        return Outbox(self.url, dedupe_window_seconds=600, escalations_per_hour=3,
                      retention_days=30, clock=self.clock)


pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures


@pytest.fixture
def machine_database(postgres_url: str) -> None:
    PostgresOutboxMachine.url = postgres_url


PostgresOutboxMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestPostgresOutboxStateMachine = pytest.mark.usefixtures("machine_database")(
    PostgresOutboxMachine.TestCase)
