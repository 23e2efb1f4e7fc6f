"""The critical hole, as an attacker would try it: a real `policy-qa serve` in a
subprocess, with a canary environment variable and a canary file, attacked with the
exact FileData payloads of the Security issue (and variants) on every gradio route and
every function the chat and console configs list. Nothing of either canary may come
back, no file may be copied into any cache, and the chat must still answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client
from test_serve import free_port

from qa.escalation.outbox import Outbox
from qa.settings import Settings

CANARY_ENV = "canary-env-7f3a9c1e5b"
CANARY_FILE = "canary-file-c0ffee4b1d"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def server(korero_index_dir, tmp_path_factory) -> Iterator[SimpleNamespace]:
    tmp = tmp_path_factory.mktemp("attack")
    (tmp / "tmp").mkdir()
    secret = tmp / "secret.txt"
    secret.write_text(CANARY_FILE + "\n")
    outbox = tmp / "outbox.sqlite3"
    Outbox.from_settings(Settings(outbox=outbox)).enqueue(
        "my question " + CANARY_FILE, to="privacy@example.com", email="asker@example.org")
    port = free_port()
    env = {**os.environ, "POLICY_QA_INDEX": str(korero_index_dir),
           "POLICY_QA_OUTBOX": str(outbox), "POLICY_QA_MAILDIR": str(tmp / "maildir"),
           "POLICY_QA_ANALYTICS": str(tmp / "analytics.sqlite3"), "HF_HUB_OFFLINE": "1",
           "POLICY_QA_CONSOLE_USERS": f"agent:{PASSWORD}", "PQA_CANARY": CANARY_ENV,
           "TMPDIR": str(tmp / "tmp"), "POLICY_QA_REQUESTS_PER_MINUTE": "0"}
    log = (tmp / "serve.log").open("w")  # a file: an unread pipe would fill and stall it
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli.main", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("serve did not come up")
        yield SimpleNamespace(base=base, secret=secret, outbox=outbox, tmp=tmp / "tmp")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        log.close()


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def payloads(targets: list[str]) -> Iterator[tuple[str, object]]:
    """(name, value) of every way a file reference can ride in an event's data."""
    for target in targets:
        ref = file_data(target)
        yield f"history {target}", [{"role": "user", "content": [{"type": "file", "file": ref}]}]
        yield f"bare {target}", ref
        yield f"nested {target}", {"value": [{"file": ref}]}
        yield f"orig_name {target}", {"path": target, "orig_name": "x.txt"}
    yield "url", {"url": "http://127.0.0.1:9/x", "meta": {"_type": "gradio.FileData"}}


def events(http: httpx.Client, prefix: str) -> Iterator[tuple[str, dict, int]]:
    """(route, body fields, number of inputs) for every function in the mounted app's
    own config: the queue by fn_index, and run/call by api_name."""
    config = http.get(prefix + "/config").json()
    assert config["dependencies"]
    for dep in config["dependencies"]:
        width = len(dep.get("inputs", [])) or 1
        yield f"{prefix}/gradio_api/queue/join", {"fn_index": dep["id"]}, width
        if isinstance(dep.get("api_name"), str):
            for verb in ("run", "call"):
                yield f"{prefix}/gradio_api/{verb}/{dep['api_name']}", {}, width


def attack(http: httpx.Client, prefix: str, targets: list[str]) -> int:
    """Send every payload to every function; return how many requests were refused."""
    refused = 0
    for route, fields, width in events(http, prefix):
        for name, value in payloads(targets):
            for slot in range(width):
                data = [None] * width
                data[slot] = value
                body = {**fields, "data": data, "session_hash": "attacker01",
                        "event_data": {"index": [0, 0], "value": value, "liked": True}}
                try:
                    r = http.post(route, json=body)
                except httpx.TransportError as exc:
                    pytest.fail(f"{route} {name}: {exc!r}")
                assert 400 <= r.status_code < 500, (route, name, r.status_code, r.text[:300])
                assert r.headers["content-type"].startswith("application/json")
                assert CANARY_ENV not in r.text and CANARY_FILE not in r.text, (route, name)
                refused += 1
    return refused


def assert_nothing_copied(server: SimpleNamespace) -> None:
    for path in server.tmp.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert CANARY_FILE.encode() not in text and CANARY_ENV.encode() not in text, path
            assert path.name not in ("environ", "passwd", "secret.txt", "outbox.sqlite3"), path


def test_the_exact_exploit_is_refused(server) -> None:
    body = {"data": ["hi", [{"role": "user", "content": [{"type": "file", "file": {
        "path": "/proc/self/environ", "meta": {"_type": "gradio.FileData"}}}]}], None]}
    r = httpx.post(server.base + "/gradio_api/run/ask", json=body)
    assert r.status_code == 400 and r.json() == {"error": "file references are not accepted"}
    assert CANARY_ENV not in r.text and "gradio_api/file=" not in r.text


def test_no_file_reference_is_read_through_any_chat_or_console_function(server) -> None:
    targets = ["/proc/self/environ", "/etc/passwd", str(server.secret), str(server.outbox)]
    with httpx.Client(base_url=server.base, timeout=30,
                      headers={"Origin": server.base}) as http:  # as the pages send them
        chat = attack(http, "", targets)
        r = http.post("/console/login", data={"username": "agent", "password": PASSWORD},
                      headers={"Origin": server.base})
        assert r.status_code == 303
        console = attack(http, "/console", targets)  # even a signed-in agent
    assert chat > 50 and console > 50
    assert_nothing_copied(server)


def test_upload_and_file_routes_serve_nothing(server) -> None:
    with httpx.Client(base_url=server.base, timeout=30) as http:
        for prefix in ("", "/console"):
            up = http.post(prefix + "/gradio_api/upload",
                           files={"files": ("x.txt", CANARY_FILE.encode())})
            assert up.status_code in (401, 403, 404), up.text
            for target in ("/proc/self/environ", "/etc/passwd", str(server.secret)):
                for route in (f"/gradio_api/file={target}", f"/gradio_api/file/{target}",
                              f"/file={target}"):
                    r = http.get(prefix + route)
                    assert r.status_code in (401, 403, 404), (route, r.status_code)
                    assert CANARY_ENV not in r.text and CANARY_FILE not in r.text
            proxy = http.get(prefix + "/gradio_api/proxy=http://127.0.0.1:9/")
            assert proxy.status_code in (401, 403, 404)
    assert_nothing_copied(server)


def test_the_chat_still_answers_through_gradio(server) -> None:
    client = Client(server.base + "/", verbose=False)
    result = client.predict("Do you sell my data?", api_name="/ask")
    history = result[1]
    assert history[0]["role"] == "user" and history[-1]["role"] == "assistant"
    assert "pqa-quote" in json.dumps(history)
    again = client.predict("and cookies?", api_name="/ask")[1]
    assert len(again) == 4  # the conversation is kept on the server, not sent by the client


def test_deeply_nested_bodies_are_refused_without_a_traceback(server) -> None:
    """The security review's repro: 1 KB of nested brackets made gradio's guard recurse
    (500) and wrote a 211 KB RecursionError traceback to the log, unlimited by rate."""
    log = server.tmp.parent / "serve.log"
    before = log.stat().st_size
    deep = "[" * 500 + "]" * 500
    bodies = [
        ("/gradio_api/queue/join", '{"data":["hi",null],"fn_index":2,"session_hash":"abcd",'
                                   f'"event_data":{deep}}}'),
        ("/gradio_api/run/ask", '{"data":["hi",' + deep + ',null]}'),
        ("/gradio_api/queue/join", "[" * 2000 + "]" * 2000),
        ("/api/ask", '{"question":' + "[" * 2000 + "]" * 2000 + "}"),
    ]
    with httpx.Client(base_url=server.base, timeout=30, headers={"Origin": server.base}) as http:
        for route, body in bodies:
            r = http.post(route, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (route, r.status_code, r.text[:200])
            assert "error" in r.json() or "detail" in r.json()
            assert "Traceback" not in r.text and "Recursion" not in r.text
        shallow = '{"data":["hi",' + "[" * 20 + "]" * 20 + ',null]}'  # within the cap
        r = http.post("/gradio_api/run/ask", content=shallow,
                      headers={"Content-Type": "application/json"})
        assert r.status_code != 500 and "nested too deeply" not in r.text
    time.sleep(0.5)
    grown = log.read_text(errors="replace")[before:]
    assert "RecursionError" not in grown and "Traceback" not in grown
    assert len(grown) < 5000, len(grown)
