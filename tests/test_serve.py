"""The server around the API: `policy-qa serve` in a subprocess, a missing index, and
the rate limiter and micro-batcher on their own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from web_server import serve_app

from index.errors import RateLimitedError
from qa.settings import Settings
from ui.web.app import create_app
from ui.web.batching import MicroBatcher
from ui.web.rate_limit import RateLimiter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def test_missing_index_is_a_503_json_error_not_a_traceback(tmp_path):
    settings = Settings(index=tmp_path / "no-index", outbox=tmp_path / "outbox.sqlite3",
                        maildir=tmp_path / "maildir", analytics=tmp_path / "a.sqlite3")
    with serve_app(create_app(settings, start_worker=False)) as url:
        health = httpx.get(url + "/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "error" and not health.json()["index"]["loaded"]
        asked = httpx.post(url + "/api/ask", json={"question": "Do you sell my data?"})
        assert asked.status_code == 503
        assert "index is not loaded" in error_of(asked)
        # the reason names the index's folder, a setting no visitor may read: logged only
        assert str(tmp_path) not in asked.text and str(tmp_path) not in health.text


def test_health_warns_when_the_policy_names_no_inbox(tmp_path, embedder):
    from index.policy import parse_policy
    from index.store import build_index, save_index

    policy = parse_policy("# Privacy\n\n## Cookies\n\nWe use cookies to keep you signed in.\n")
    save_index(build_index(policy, embedder), tmp_path / "index")
    settings = Settings(index=tmp_path / "index", outbox=tmp_path / "outbox.sqlite3",
                        maildir=tmp_path / "maildir", analytics=tmp_path / "a.sqlite3")
    with serve_app(create_app(settings, start_worker=False)) as url:
        health = httpx.get(url + "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert any("POLICY_QA_INBOX" in w for w in health.json()["warnings"]), health.json()


@pytest.mark.slow
def test_serve_command_runs_the_app_and_prints_the_urls(korero_index_dir, tmp_path):
    port = free_port()
    env = {**os.environ, "POLICY_QA_INDEX": str(korero_index_dir),
           "POLICY_QA_OUTBOX": str(tmp_path / "outbox.sqlite3"),
           "POLICY_QA_MAILDIR": str(tmp_path / "maildir"),
           "POLICY_QA_ANALYTICS": str(tmp_path / "analytics.sqlite3"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli.main", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail(f"serve did not come up: {proc.stdout.read() if proc.stdout else ''}")
        answer = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": "hello"})
        assert answer.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    for shown in (f"http://127.0.0.1:{port}/docs", f"http://127.0.0.1:{port}/console/",
                  f'<script src="http://127.0.0.1:{port}/widget.js" defer></script>'):
        assert shown in output


def test_token_bucket_refills_at_the_configured_rate():
    now = [1000.0]
    limiter = RateLimiter(6, clock=lambda: now[0])  # 6 per minute: one every 10 s
    for _ in range(6):
        limiter.check("a")
    with pytest.raises(RateLimitedError) as caught:
        limiter.check("a")
    assert caught.value.retry_after == 10
    limiter.check("b")  # other clients have their own bucket
    now[0] += 10
    limiter.check("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")
    RateLimiter(0).check("a")  # 0 disables the limit


def _staggered(batcher: MicroBatcher, gate: threading.Event) -> list[int]:
    """One lone question, then a burst of three queued together, then three more 0.1 s
    apart; the batch sizes the worker made of the last three."""
    first = batcher.submit("a")  # the worker takes it and waits at the gate
    time.sleep(0.2)
    burst = [batcher.submit(q) for q in "bcd"]
    gate.set()
    [f.result(5) for f in (first, *burst)]
    assert batcher.batch_sizes == [1, 3]
    late = []
    for q in "efg":
        late.append(batcher.submit(q))
        time.sleep(0.1)
    [f.result(5) for f in late]
    return batcher.batch_sizes[2:]


def test_micro_batcher_waits_for_a_burst_only_when_others_are_asking():
    gate = threading.Event()

    def answer_many(questions):
        gate.wait(5)
        return [q.upper() for q in questions]

    waiting = MicroBatcher(answer_many, burst_wait=1.0)
    gate.set()
    try:
        started = time.monotonic()
        assert waiting.submit("alone").result(5) == "ALONE"
        assert time.monotonic() - started < 0.5  # at rest: no wait
    finally:
        waiting.close()
    gate.clear()
    waiting = MicroBatcher(answer_many, burst_wait=1.0)
    try:
        started = time.monotonic()
        # after a batch of three, the next three (0.1 s apart) make one batch, answered
        # once the third arrives, not after the whole second
        assert _staggered(waiting, gate) == [3]
        assert time.monotonic() - started < 1.4
    finally:
        waiting.close()
    gate.clear()
    eager = MicroBatcher(answer_many)  # burst_wait 0: whatever has queued
    try:
        assert _staggered(eager, gate) == [1, 1, 1]
    finally:
        eager.close()


def test_micro_batcher_isolates_a_failing_question():
    def answer_many(questions):
        if "bad" in questions:
            raise ValueError("bad question")
        return [q.upper() for q in questions]

    batcher = MicroBatcher(answer_many, max_wait=0.05)
    try:
        futures = [batcher.submit(q) for q in ("one", "bad", "two")]
        assert futures[0].result(5) == "ONE" and futures[2].result(5) == "TWO"
        with pytest.raises(ValueError):
            futures[1].result(5)
        assert batcher.batch_sizes[0] == 3
        calls = []
        same = MicroBatcher(lambda qs: calls.append(list(qs)) or [q.upper() for q in qs],
                            max_wait=0.05)
        futures = [same.submit("Do you sell data?") for _ in range(4)]
        assert [f.result(5) for f in futures] == ["DO YOU SELL DATA?"] * 4
        assert calls == [["Do you sell data?"]]  # one embedding for the whole burst
        same.close()
    finally:
        batcher.close()


def test_serve_refuses_bad_console_users_before_loading_the_model(
        korero_index_dir, tmp_path, monkeypatch, capsys):
    from qa.service import Service
    from ui.cli.main import main

    def loads(self):
        raise AssertionError("the model was loaded before the settings were checked")

    monkeypatch.setattr(Service, "warm_up", loads)
    monkeypatch.setenv("POLICY_QA_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    monkeypatch.setenv("POLICY_QA_CONSOLE_USERS", "alice:short")
    monkeypatch.delenv("POLICY_QA_CONFIG", raising=False)
    assert main(["serve", "--index", str(korero_index_dir), "--port", "1"]) == 2
    assert "alice" in capsys.readouterr().err
