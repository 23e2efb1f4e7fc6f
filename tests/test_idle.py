"""A server nobody uses does no work: the delivery worker and gradio's queues sleep on
events until something is enqueued or falls due (loop iterations are counted, not
time), and an enqueue wakes them at once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from web_server import serve_app

from qa.escalation.delivery import DeliveryWorker, next_due
from qa.escalation.outbox import Outbox
from qa.escalation.transport import MaildirTransport, TransientDeliveryError
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app
from ui.web.gradio_queue import EventQueue

MAIL_FROM = "policy-qa@localhost"


def _outbox(tmp: Path) -> Outbox:
    return Outbox(tmp / "outbox.sqlite3", dedupe_window_seconds=0, escalations_per_hour=1000,
                  retention_days=30)


def _worker(outbox: Outbox, transport, **kw) -> DeliveryWorker:
    return DeliveryWorker(outbox, transport, mail_from=MAIL_FROM, interval=3600,
                          max_attempts=5, max_age_seconds=86400, base=0.3, cap=0.3, **kw)


def _wait(predicate, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.01)
    return time.monotonic() - started


def _mails(tmp: Path) -> list[Path]:
    return list((tmp / "maildir" / "new").glob("*")) if (tmp / "maildir" / "new").is_dir() else []


def test_idle_worker_sleeps_and_an_enqueue_wakes_it(tmp_path):
    outbox = _outbox(tmp_path)
    worker = _worker(outbox, MaildirTransport(tmp_path / "maildir"))
    worker.start()
    try:
        _wait(lambda: worker.passes == 1)
        time.sleep(1.0)
        assert worker.wakeups == 1  # nothing queued: no second iteration
        outbox.enqueue("Do you keep call recordings?", to="privacy@example.com")
        worker.wake()
        assert _wait(lambda: len(_mails(tmp_path)) == 1) < 2.0
        time.sleep(0.5)
        assert worker.wakeups == 2 and worker.passes == 2  # one wake-up, one pass
    finally:
        worker.stop()


class FlakyOnce:
    """Fails the first send (transient), then writes to a Maildir."""

    def __init__(self, path: Path) -> None:
        self.maildir = MaildirTransport(path)
        self.calls = 0

    def send(self, msg) -> None:
        self.calls += 1
        if self.calls == 1:
            raise TransientDeliveryError("421 try later")
        self.maildir.send(msg)


def test_a_retry_wakes_the_worker_at_its_due_time_without_polling(tmp_path):
    outbox = _outbox(tmp_path)
    outbox.enqueue("Do you sell my data?", to="privacy@example.com")
    transport = FlakyOnce(tmp_path / "maildir")
    worker = _worker(outbox, transport)
    worker.start()
    try:
        _wait(lambda: len(_mails(tmp_path)) == 1, timeout=5)  # retried within base=0.3 s
        assert transport.calls == 2
        assert worker.wakeups <= 3  # first pass, the retry (+ at most one early wake)
        _wait(lambda: next_due(outbox) is None)  # marked sent: nothing queued
        settled = worker.wakeups
        time.sleep(0.8)
        assert worker.wakeups == settled
    finally:
        worker.stop()


def test_sleep_covers_a_lease_held_elsewhere(tmp_path):
    outbox = _outbox(tmp_path)
    outbox.enqueue("What cookies do you set?", to="privacy@example.com")
    now = outbox.clock()
    assert next_due(outbox) <= now
    outbox.claim_due(now, 1, lease_seconds=120)  # another deliverer holds it
    assert abs(next_due(outbox) - (now + 120)) < 1
    worker = _worker(outbox, MaildirTransport(tmp_path / "maildir"))
    assert worker.run_once().sent == 0  # (and purges: the next purge is an hour away)
    assert 110 < worker.sleep_seconds() <= 120  # wakes when that lease expires


def test_idle_server_gradio_queues_do_not_poll(tmp_path, korero_index_dir, korero_index,
                                               embedder):
    settings = Settings(index=korero_index_dir, outbox=tmp_path / "outbox.sqlite3",
                        maildir=tmp_path / "maildir", analytics=tmp_path / "a.sqlite3",
                        console_users="agent:correct-horse-battery-staple")
    service = Service(settings, index=korero_index, embedder=embedder)
    app = create_app(settings, service=service)
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        queues = [r.app.get_blocks()._queue for r in app.routes
                  if hasattr(getattr(r, "app", None), "get_blocks")]
        assert len(queues) == 2 and all(isinstance(q, EventQueue) for q in queues)
        time.sleep(0.5)
        before = [q.wakeups for q in queues]
        time.sleep(1.0)
        assert [q.wakeups for q in queues] == before  # gradio's own loops: ~1,100 a second
        deps = {d["api_name"]: d["id"] for d in http.get("/config").json()["dependencies"]}
        r = http.post("/gradio_api/queue/join", json={
            "fn_index": deps["ask"], "data": ["Do you sell my data?", None],
            "session_hash": "idle1"})
        assert r.status_code == 200, r.text
        started = time.monotonic()
        done = ""
        with http.stream("GET", "/gradio_api/queue/data?session_hash=idle1") as events:
            for line in events.iter_lines():
                if "process_completed" in line:
                    done = line
                    break
        assert '"process_completed"' in done  # the event ran through our loop
        assert time.monotonic() - started < 10
        time.sleep(0.3)
        settled = [q.wakeups for q in queues]
        time.sleep(1.0)
        assert [q.wakeups for q in queues] == settled  # idle again after the event


def test_serving_freezes_what_start_up_loaded_so_full_collections_skip_it(monkeypatch):
    """A full collection over the model's and gradio's objects took about 0.3 s and
    stalled every request in flight; `server.run` freezes them before serving."""
    import gc

    from ui.web import server

    loaded = [{"start-up": i} for i in range(50_000)]  # stands for what start-up built
    seen: dict[str, int] = {}

    def serve(self):  # instead of uvicorn's loop: what the heap looks like when it starts
        seen["frozen"] = gc.get_freeze_count()

    monkeypatch.setattr(server.QuietServer, "run", serve)
    before = gc.get_freeze_count()
    try:
        server.run(object(), host="127.0.0.1", port=0)
        assert seen["frozen"] >= before + len(loaded)
    finally:
        gc.unfreeze()
