"""Cross-replica wake-ups (qa/database/listen.py) on a real PostgreSQL
(tests/postgres_server.py) with a real SMTP server: a row one replica queues is
delivered by another replica's worker at once, not at its rescan interval (here an
hour); the listener survives a database restart; stop() ends it promptly; SQLite
has no listener."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from smtp_server import SmtpServer
from test_idle import _wait as wait_for  # polls; fails the test on timeout
from web_server import serve_app

from qa.escalation.outbox import Outbox
from qa.rights.store import RequestStore
from ui.web.app import create_app

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures

INBOX = "privacy@koreroapp.example"
OPTIONS = {"dedupe_window_seconds": 3600, "escalations_per_hour": 0, "retention_days": 30}


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.event.set()


def test_an_enqueue_on_one_replica_wakes_the_listener_of_another(postgres_url: str,
                                                                   tmp_path: Path) -> None:
    outbox = Outbox(postgres_url, **OPTIONS)  # this replica's store
    requests = RequestStore(postgres_url)
    wake = Counter()
    listener = outbox.database.listener(wake, requests.database)
    listener.start()
    try:
        assert listener.connected.wait(10)
        wait_for(lambda: wake.calls == 1)  # once on connecting: missed rows
        assert listener.channels == ("policy_qa_outbox", "policy_qa_rights")
        time.sleep(1.0)
        assert listener.wakeups == 0  # idle: blocked in select(), no polling
        other = Outbox(postgres_url, **OPTIONS)  # another replica's
        other.enqueue("Do you sell my data?", to=INBOX)
        wait_for(lambda: listener.notifications == 1)
        assert wake.calls == 2
        duplicate = other.enqueue("Do you sell my data?", to=INBOX)  # deduplicated:
        assert duplicate.status == "queued"  # committed nothing new, announces nothing
        RequestStore(postgres_url).submit("access", "eu_uk", "ana@example.org",
                                          "Send me a copy of my data", to=INBOX)
        wait_for(lambda: listener.notifications == 2)
        time.sleep(0.3)
        assert listener.notifications == 2
    finally:
        started = time.monotonic()
        listener.stop()
    assert time.monotonic() - started < 1  # its wake-up socket ends the wait
    assert not listener.running


def test_a_rolled_back_enqueue_wakes_nobody(postgres_url: str) -> None:
    outbox = Outbox(postgres_url, **OPTIONS)
    wake = Counter()
    listener = outbox.database.listener(wake)
    listener.start()
    try:
        assert listener.connected.wait(10)
        with outbox.database.transaction() as con:  # announced, then rolled back
            outbox.database.announce(con)
            con.raw.execute("ROLLBACK")
            con.raw.execute("BEGIN")
        time.sleep(0.5)
        assert listener.notifications == 0
    finally:
        listener.stop()


def test_the_listener_reconnects_after_a_database_restart(postgres_server,
                                                          postgres_url: str) -> None:
    outbox = Outbox(postgres_url, **OPTIONS)
    wake = Counter()
    listener = outbox.database.listener(wake)
    listener.retry = (0.2, 1.0)
    listener.start()
    try:
        assert listener.connected.wait(10)
        postgres_server.stop()
        wait_for(lambda: not listener.connected.is_set())  # paused while away
        postgres_server.start_again()
        wait_for(lambda: wake.calls >= 2, 20)  # reconnected: woke for missed rows
        assert listener.connected.wait(10)
        Outbox(postgres_url, **OPTIONS).enqueue("Is my data safe?", to=INBOX)
        wait_for(lambda: listener.notifications == 1, 10)
    finally:
        listener.stop()


def test_a_replica_delivers_what_another_queued_without_waiting_for_its_rescan(
        make_service, postgres_url: str, tmp_path: Path) -> None:
    with SmtpServer() as smtp:
        common = {"database_url": postgres_url, "inbox": INBOX, "escalations_per_hour": 0,
                  "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                  "deliver_interval_seconds": 3600.0, "requests_per_minute": 100_000}
        front = make_service(maildir=tmp_path / "front", **common)
        back = make_service(maildir=tmp_path / "back", **common)
        # the replica taking the question runs no worker; the other one's rescan is an
        # hour away, so only a wake-up from the database can send the mail now
        taker = create_app(front.settings, service=front, start_worker=False)
        sender = create_app(back.settings, service=back)
        assert taker.state.listener is None
        with serve_app(sender) as other, serve_app(taker) as base:
            wait_for(sender.state.listener.connected.is_set)
            passes = sender.state.worker.passes
            with httpx.Client(base_url=base, timeout=30) as http:
                r = http.post("/api/escalations", json={"question": "Do you sell my data?"})
            assert r.status_code == 201, r.text
            esc_id = r.json()["id"]
            wait_for(lambda: smtp.handler.message_ids() != [], 15)
            assert smtp.handler.message_ids() == [f"<{esc_id}@policy-qa.invalid>"]
            # the pass counts itself after its mail is sent: wait for it to finish
            wait_for(lambda: sender.state.worker.passes > passes, 10)
            with httpx.Client(base_url=other, timeout=30) as http:
                health = http.get("/healthz").json()
            assert health["outbox"].get("sent") == 1
            assert health["delivery_wakeups"] == "all replicas"
            with httpx.Client(base_url=base, timeout=30) as http:  # no worker, no listener
                assert http.get("/healthz").json()["delivery_wakeups"] == "this replica"


def test_sqlite_has_no_listener(make_service, tmp_path: Path) -> None:
    service = make_service(inbox=INBOX, maildir=tmp_path / "mail")
    app = create_app(service.settings, service=service)
    assert app.state.listener is None
    assert app.state.worker is not None
