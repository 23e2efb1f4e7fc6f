"""Replicas on one real PostgreSQL (tests/postgres_server.py) and a real SMTP server
(aiosmtpd, tests/smtp_server.py), under the faults of issue 15:

- two replica processes delivering the same outbox at once: every escalation exactly
  once (FOR UPDATE SKIP LOCKED claims; no duplicate Message-ID);
- a replica SIGKILLed mid-delivery (its SMTP session hanging, the lease held): the
  other replica sends nothing while the lease holds, then delivers it once, with the
  same Message-ID;
- PostgreSQL restarted (`pg_ctl restart`) while escalations arrive at /api: each
  request is either 201 with an escalation that is committed, or 503 with the
  reason; never "forwarded" without a commit; the first request after the restart
  succeeds, with no restart of the app.

(tests/test_postgres_delivery.py re-runs the SQLite delivery fault suite, with its
threads as concurrent deliverers, on PostgreSQL.)
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
from smtp_server import SmtpServer
from web_server import serve_app

from qa.escalation.delivery import deliver_due
from qa.escalation.outbox import Outbox
from qa.escalation.transport import SmtpTransport
from ui.web.app import create_app

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures

INBOX = "privacy@koreroapp.example"
MAIL_FROM = "policy-qa@koreroapp.example"
ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {"dedupe_window_seconds": 3600, "escalations_per_hour": 0, "retention_days": 30}
DELIVERY = {"max_attempts": 5, "max_age_seconds": 3600.0, "base": 2.0, "cap": 60.0}

REPLICA = """
import json, sys, time
from qa.escalation.delivery import deliver_due
from qa.escalation.transport import SmtpTransport
from qa.escalation.outbox import Outbox
url, port, lease = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
outbox = Outbox(url, dedupe_window_seconds=3600, escalations_per_hour=0, retention_days=30)
transport = SmtpTransport("127.0.0.1", port, timeout=float(sys.argv[4]))
print("ready", flush=True)
sys.stdin.readline()  # "go": both replicas start together
sent = idle = 0
while idle < 3:
    report = deliver_due(outbox, transport, mail_from="policy-qa@koreroapp.example",
                         max_attempts=5, max_age_seconds=3600.0, base=2.0, cap=60.0,
                         limit=5, lease_seconds=lease)
    sent += report.sent
    idle = idle + 1 if report.sent == 0 else 0
    time.sleep(0.01 if report.sent == 0 else 0)
print(json.dumps({"sent": sent}), flush=True)
"""


def replica(url: str, port: int, *, lease: float = 60.0,
            timeout: float = 5.0) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", REPLICA, url, str(port), str(lease),
                              str(timeout)], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def test_two_replica_processes_deliver_every_escalation_exactly_once(postgres_url: str) -> None:
    outbox = Outbox(postgres_url, **OPTIONS)
    ids = [outbox.enqueue(f"Question number {n} about how long you keep my data?",
                          to=INBOX).id for n in range(80)]
    with SmtpServer() as server:
        children = [replica(postgres_url, server.port) for _ in range(2)]
        for child in children:
            go(child)
        results = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            assert child.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1])["sent"])
        received = server.handler.message_ids()
    assert len(received) == len(set(received)) == 80  # no duplicate, none missing
    assert sorted(received) == sorted(f"<{i}@policy-qa.invalid>" for i in ids)
    assert sum(results) == 80 and min(results) > 0, results  # both replicas delivered
    print(f"two replicas: sent {results}, {len(received)} messages received")
    assert outbox.counts()["sent"] == 80
    assert all(e.attempts == 1 for e in outbox.list(limit=None))


def test_a_replica_killed_mid_delivery_leaves_it_to_the_other_once(postgres_url: str) -> None:
    outbox = Outbox(postgres_url, **OPTIONS)
    esc = outbox.enqueue("Do you keep my voice recordings?", to=INBOX)
    # an "SMTP server" that accepts the connection and never says hello: the replica
    # is stuck mid-delivery, holding the lease
    with socket.socket() as hang:
        hang.bind(("127.0.0.1", 0))
        hang.listen(8)
        child = replica(postgres_url, hang.getsockname()[1], lease=3.0, timeout=60.0)
        try:
            go(child)
            deadline = time.monotonic() + 20
            while outbox.get(esc.id).lease_until is None and time.monotonic() < deadline:
                time.sleep(0.02)
            leased = outbox.get(esc.id)
            assert leased.lease_until is not None and leased.attempts == 1
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=10)
        assert child.returncode == -signal.SIGKILL
    with SmtpServer() as server:
        transport = SmtpTransport("127.0.0.1", server.port, timeout=5.0)
        other = Outbox(postgres_url, **OPTIONS)  # the surviving replica
        assert deliver_due(other, transport, mail_from=MAIL_FROM, **DELIVERY).sent == 0
        assert server.handler.message_ids() == []  # not while the dead one's lease holds
        time.sleep(max(0.0, leased.lease_until - time.time()) + 0.2)
        assert deliver_due(other, transport, mail_from=MAIL_FROM, **DELIVERY).sent == 1
        assert deliver_due(other, transport, mail_from=MAIL_FROM, **DELIVERY).sent == 0
        assert server.handler.message_ids() == [f"<{esc.id}@policy-qa.invalid>"]
    row = other.get(esc.id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_database_restart_is_503_with_a_reason_then_recovers_without_an_app_restart(
        make_service, postgres_server, postgres_url: str, tmp_path: Path) -> None:
    service = make_service(database_url=postgres_url, inbox=INBOX, maildir=tmp_path / "mail",
                           escalations_per_hour=0, requests_per_minute=100_000)
    app = create_app(service.settings, service=service, start_worker=False)
    answers: list[tuple[int, dict]] = []
    stop = threading.Event()

    def visitor(base: str, n: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                n += 1
                r = http.post("/api/escalations", json={
                    "question": f"Do you sell the data of visitor number {n}?"})
                answers.append((r.status_code, r.json()))

    with serve_app(app) as base:
        with httpx.Client(base_url=base, timeout=30) as http:
            first = http.post("/api/escalations", json={"question": "Do you sell my data?"})
            assert first.status_code == 201, first.text
            visitors = [threading.Thread(target=visitor, args=(base, k * 10_000))
                        for k in range(2)]
            for t in visitors:
                t.start()
            time.sleep(0.5)
            postgres_server.restart()  # pg_ctl restart while the visitors post
            restarted = http.post("/api/escalations", json={"question": "Is my data safe?"})
            time.sleep(0.3)
            postgres_server.stop()  # and down for a while: a request is sure to land
            try:
                down = http.post("/api/escalations", json={"question": "Is my data sold?"})
                assert down.status_code == 503 and down.headers["retry-after"] == "30"
                assert "database cannot be reached" in down.json()["error"]
                assert "nothing was recorded" in down.json()["error"]
                # the reason names the database's host, port and user: logged, not shown
                assert "127.0.0.1" not in down.text and "postgresql" not in down.text
                health = http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["database"] == "unavailable", health.json()
                assert "127.0.0.1" not in health.text
            finally:
                postgres_server.start_again()
            after = http.post("/api/escalations", json={"question": "Do you share my data?"})
            healed = http.get("/healthz")
            assert healed.status_code == 200 and healed.json()["database"] == "ok"
            time.sleep(0.5)
            stop.set()
            for t in visitors:
                t.join(60)
        # the first call after each restart succeeds
        assert restarted.status_code == 201, restarted.text
        assert after.status_code == 201, after.text
    statuses = {status for status, _ in answers}
    assert statuses <= {201, 503}, statuses
    assert 201 in statuses
    for status, body in answers:
        if status == 503:
            assert "database cannot be reached" in body["error"]
    forwarded = {body["id"] for status, body in answers if status == 201}
    forwarded |= {first.json()["id"], restarted.json()["id"], after.json()["id"]}
    with psycopg.connect(postgres_url) as con:
        committed = {r[0] for r in con.execute("SELECT id FROM outbox.escalations")}
    assert forwarded <= committed  # never "forwarded" without a commit
    print(f"restart: {len(answers)} visitor requests, "
          f"{sum(s == 201 for s, _ in answers)} committed (201), "
          f"{sum(s == 503 for s, _ in answers)} refused (503)")
