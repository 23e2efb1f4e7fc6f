"""The HTTP guard (ui/web/http_guard.py) on a real uvicorn server on loopback, over raw
sockets: a head too large is answered 431 and the connection closed; a connection that
sends nothing, or a body that trickles, is closed at its deadline; ordinary requests,
kept-alive connections and large bodies within the limits are untouched; the server
answers others throughout."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from web_server import serve_app

from ui.web import http_guard
from ui.web.server import MAX_CONNECTIONS, server_config


@pytest.fixture()
def base(monkeypatch) -> Iterator[str]:
    monkeypatch.setattr(http_guard.GuardedHttpProtocol, "head_seconds", 1.0)
    monkeypatch.setattr(http_guard.GuardedHttpProtocol, "body_seconds", 1.5)
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"ok": True}

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    with serve_app(app) as url:
        yield url


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """(closed by the server within `seconds`, what it sent first)."""
    sock.settimeout(seconds)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
        return True, got
    except TimeoutError:
        return False, got
    except ConnectionResetError:
        return True, got


def test_a_head_over_the_cap_is_431_and_the_server_answers_others(base) -> None:
    sock = _connect(base)
    sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ")
    try:
        for _ in range(64):  # 4 MiB of one header value, in 64 KiB writes
            sock.sendall(b"a" * 65536)
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed while we were still sending: the point
    closed, reply = _closed_within(sock, 5)
    assert closed and reply.startswith(b"HTTP/1.1 431 ")
    assert b"too large" in reply
    assert httpx.get(base + "/ping", timeout=5).json() == {"ok": True}


@pytest.mark.parametrize("headers", [
    {"X-A": "a" * 100_000},  # one header just over the cap, in one read (200 before)
    {f"X-H{i}": "b" * 1000 for i in range(70)},  # 70 headers of 1 KB
])
def test_a_head_over_the_cap_in_one_read_is_431_too(base, headers) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        refused = http.get("/ping", headers=headers)
        assert refused.status_code == 431 and "too large" in refused.text
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/ping", headers={"X-A": "a" * 60_000}).json() == {"ok": True}


def test_a_silent_connection_and_a_trickled_head_are_closed_at_the_deadline(base) -> None:
    silent = _connect(base)
    trickle = _connect(base)
    trickle.sendall(b"GET /ping HTTP/1.1\r\n")
    started = time.monotonic()
    for _ in range(4):
        trickle.sendall(b"X-A: b\r\n")  # never the blank line that ends the head
        time.sleep(0.2)
    assert _closed_within(silent, 5)[0] and _closed_within(trickle, 5)[0]
    assert time.monotonic() - started < 5


def test_a_trickled_body_is_closed_and_a_whole_one_is_read(base) -> None:
    sock = _connect(base)
    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: 100\r\n\r\nabc")
    closed, reply = _closed_within(sock, 5)
    assert closed and b"200 OK" not in reply
    with httpx.Client(base_url=base, timeout=10) as http:  # one kept-alive connection
        for size in (0, 100_000, 5):
            assert http.post("/echo", content=b"x" * size).json() == {"bytes": size}
        assert http.get("/ping").json() == {"ok": True}


def test_every_server_gets_the_guard_and_a_connection_limit() -> None:
    config = server_config(FastAPI())
    assert config.http is http_guard.GuardedHttpProtocol
    assert config.limit_concurrency == MAX_CONNECTIONS
