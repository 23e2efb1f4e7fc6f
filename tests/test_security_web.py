"""Hardening of every public route, over real HTTP on loopback: an unauthenticated
sweep generated from the app's own route tables, client addresses and limits with and
without a trusted proxy, CORS, clean failures, headers, sessions and passwords."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
import websockets
from gradio_client import Client
from starlette.routing import Mount
from web_server import serve_app

from index.errors import ConfigError, RateLimitedError
from qa.escalation.outbox import Outbox
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app
from ui.web.chat.render import SLOW_DOWN, seconds
from ui.web.console.auth import COOKIE
from ui.web.rate_limit import Rate
from ui.web.security import CHAT_CSP

PASSWORD = "correct-horse-battery-staple"
CANARY = "console-canary-5d1e0b9a"


def make_web(tmp, korero_index_dir, korero_index, embedder, **changes) -> SimpleNamespace:
    settings = Settings(
        index=korero_index_dir, outbox=tmp / "outbox.sqlite3", maildir=tmp / "maildir",
        analytics=tmp / "analytics.sqlite3", console_users=f"agent:{PASSWORD}",
        allowed_origins="https://partner.example", requests_per_minute=5,
        escalations_per_hour=3).replace(**changes)
    service = Service(settings, index=korero_index, embedder=embedder)
    Outbox.from_settings(settings).enqueue(f"secret question {CANARY}", to="privacy@example.com",
                                           email=f"{CANARY}@example.org")
    return SimpleNamespace(settings=settings, service=service,
                           app=create_app(settings, service=service, start_worker=False))


@pytest.fixture(scope="module")
def web(tmp_path_factory, korero_index_dir, korero_index, embedder) -> Iterator:
    w = make_web(tmp_path_factory.mktemp("sec"), korero_index_dir, korero_index, embedder)
    with serve_app(w.app) as url:
        w.url = url
        yield w


@pytest.fixture()
def fresh(tmp_path, korero_index_dir, korero_index, embedder) -> Iterator:
    """An app of its own, so its rate-limit buckets start full."""
    w = make_web(tmp_path, korero_index_dir, korero_index, embedder)
    with serve_app(w.app) as url:
        w.url = url
        yield w


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, korero_index_dir, korero_index, embedder) -> Iterator:
    w = make_web(tmp_path_factory.mktemp("proxied"), korero_index_dir, korero_index, embedder,
                 trusted_proxies="127.0.0.0/8")
    with serve_app(w.app) as url:
        w.url = url
        yield w


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path).replace(":path", "")


def routes_of(routes: list) -> Iterator:
    """Every route, with FastAPI's included routers opened up."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from routes_of(inner.routes) if inner is not None else [route]


def console_requests(app) -> Iterator[tuple[str, str]]:
    """(method, path) of every console route: the app's own and the mounted gradio
    console's, from their route tables."""
    for route in app.router.routes:
        if isinstance(route, Mount) and route.path == "/console":
            for sub in routes_of(route.app.router.routes):
                for method in sorted(getattr(sub, "methods", None) or {"GET"}):
                    yield method, "/console" + fill(getattr(sub, "path", "/"))
        elif getattr(route, "path", "").startswith("/console"):
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                yield method, fill(route.path)


def test_nothing_of_the_console_is_reachable_without_a_session(web) -> None:
    requests = sorted(set(console_requests(web.app)))
    assert len(requests) > 40  # the sweep really covers gradio's routes
    with httpx.Client(base_url=web.url, timeout=30) as http:
        for method, path in requests:
            for origin in (None, web.url):
                headers = {"Origin": origin} if origin else {}
                r = http.request(method, path, headers=headers, json={"data": []})
                assert r.status_code in (303, 401, 403, 404, 405, 422) or path in (
                    "/console/login", "/console/logout"), (method, path, r.status_code)
                assert CANARY not in r.text and "named_endpoints" not in r.text, (method, path)
        # every console function, by index and by name, from the signed-in config
        signed = httpx.Client(base_url=web.url, timeout=30, headers={"Origin": web.url})
        assert signed.post("/console/login", data={"username": "agent", "password": PASSWORD}
                           ).status_code == 303
        deps = signed.get("/console/config").json()["dependencies"]
        signed.close()
        for dep in deps:
            width = len(dep["inputs"])
            r = http.post("/console/gradio_api/queue/join", headers={"Origin": web.url},
                          json={"fn_index": dep["id"], "data": [None] * width,
                                "session_hash": "anon"})
            assert r.status_code == 401, dep
            r = http.post(f"/console/gradio_api/run/{dep['api_name']}",
                          headers={"Origin": web.url}, json={"data": [None] * width})
            assert r.status_code == 401 and CANARY not in r.text


def test_the_console_typed_without_its_slash_is_the_console(web) -> None:
    """`/console` (an audit found a 404: the chat's guard took it for one of its own
    paths) redirects to `/console/`, keeping a deep link; not signed in, to sign in."""
    with httpx.Client(base_url=web.url, timeout=30, headers={"Origin": web.url}) as http:
        r = http.get("/console?escalation=esc_abc")
        assert r.status_code == 303 and r.headers["location"] == (
            "/console/login?escalation=esc_abc")
        assert http.post("/console/login", data={"username": "agent", "password": PASSWORD}
                         ).status_code == 303
        r = http.get("/console?escalation=esc_abc")
        assert r.status_code == 307 and r.headers["location"] == "console/?escalation=esc_abc"
        page = http.get("/console", follow_redirects=True)
        assert page.status_code == 200 and "<gradio-app" in page.text
        assert str(page.url).endswith("/console/")


def test_a_websocket_to_the_console_is_closed_with_1008(web) -> None:
    async def connect(path: str) -> int | None:
        uri = web.url.replace("http://", "ws://") + path
        async with websockets.connect(uri, origin=web.url) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code

    for path in ("/console/", "/console/gradio_api/queue/data", "/"):
        assert asyncio.run(connect(path)) == 1008


_ips = (f"203.0.113.{i}" for i in itertools.count(1))


def test_rotating_x_forwarded_for_from_an_untrusted_peer_escapes_no_limit(fresh) -> None:
    web = fresh
    with httpx.Client(base_url=web.url, timeout=30) as http:
        asks = [http.post("/api/ask", json={"question": "hello"},
                          headers={"X-Forwarded-For": next(_ips)}).status_code
                for _ in range(8)]
        assert asks[:5] == [200] * 5 and set(asks[5:]) == {429}
        logins = [http.post("/console/login", data={"username": "agent", "password": "wrong"},
                            headers={"Origin": web.url, "X-Forwarded-For": next(_ips),
                                     "Forwarded": f"for={next(_ips)}"}).status_code
                  for _ in range(8)]
        assert logins[:5] == [401] * 5 and set(logins[5:]) == {429}
        right = http.post("/console/login", data={"username": "agent", "password": PASSWORD},
                          headers={"Origin": web.url, "X-Forwarded-For": next(_ips)})
        assert right.status_code == 429  # locked out: even the right password waits


def test_a_trusted_proxys_forwarded_address_is_the_client(proxied) -> None:
    with httpx.Client(base_url=proxied.url, timeout=30) as http:
        def ask(**headers: str) -> int:
            return http.post("/api/ask", json={"question": "hello"}, headers=headers).status_code

        assert [ask(**{"X-Forwarded-For": next(_ips)}) for _ in range(8)] == [200] * 8
        one = "198.51.100.77"
        assert [ask(**{"X-Forwarded-For": one}) for _ in range(6)][-1] == 429
        # the client cannot hide behind an address it prepends itself
        assert ask(**{"X-Forwarded-For": f"{next(_ips)}, {one}"}) == 429
        # a Forwarded header the visitor sent, which a proxy writing X-Forwarded-For
        # passes through: never read (it named any address it liked before: audit)
        assert [ask(**{"X-Forwarded-For": one, "Forwarded": f"for={next(_ips)}"})
                for _ in range(3)] == [429] * 3
        assert http.get("/healthz", headers={"Forwarded": "proto=https"}).headers.get(
            "strict-transport-security") is None
        https = http.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert https.headers["strict-transport-security"].startswith("max-age=")
        assert "strict-transport-security" not in http.get("/healthz").headers
    proxied.app.state.recorder.flush()


def test_healthz_details_need_the_forwarded_address_read(web) -> None:
    """With no trusted proxy (the default), a request carrying a forwarded header came
    through a proxy this server was not told about: its loopback address is the proxy's,
    so the outbox's counts and warnings are not given; a plain local check gets them."""
    with httpx.Client(base_url=web.url, timeout=30) as http:
        assert "outbox" in http.get("/healthz").json()
        for header in ({"X-Forwarded-For": "8.8.8.8"}, {"Forwarded": "for=8.8.8.8"},
                       {"X-Forwarded-For": "127.0.0.1"}):
            body = http.get("/healthz", headers=header).json()
            assert body["status"] == "ok" and "outbox" not in body, header
            assert "warnings" not in body and "model" not in body["index"]


def test_forwarding_headers_from_an_untrusted_peer_never_reach_gradio(web) -> None:
    """With no trusted proxy, gradio read a visitor's X-Forwarded-Host/-Proto as its own
    address (the security review: "root":"http://evil.example" in /config and the chat
    page): one request could poison a cache in front. They are removed before the app."""
    with httpx.Client(base_url=web.url, timeout=30) as http:
        for header in ({"X-Forwarded-Host": "evil.example"}, {"X-Forwarded-Proto": "https"},
                       {"Forwarded": "host=evil.example;proto=https"},
                       {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}):
            root = http.get("/config", headers=header).json()["root"]
            assert "evil.example" not in root and root.startswith("http://127.0.0.1"), header
            assert "evil.example" not in http.get("/", headers=header).text


def test_a_proxy_writing_forwarded_is_read_instead_when_configured(
        tmp_path, korero_index_dir, korero_index, embedder) -> None:
    """`proxy_header = "forwarded"`: RFC 7239 names the client, and X-Forwarded-For,
    which a visitor can send through such a proxy, is not read."""
    w = make_web(tmp_path, korero_index_dir, korero_index, embedder,
                 trusted_proxies="127.0.0.0/8", proxy_header="forwarded")
    with serve_app(w.app) as url, httpx.Client(base_url=url, timeout=30) as http:
        def ask(**headers: str) -> int:
            return http.post("/api/ask", json={"question": "hello"}, headers=headers).status_code

        assert [ask(Forwarded=f'for="{next(_ips)}";proto=https') for _ in range(8)] == [200] * 8
        one = 'for="[2001:db8::7]:4711"'
        assert [ask(Forwarded=one, **{"X-Forwarded-For": next(_ips)})
                for _ in range(6)][-1] == 429
        https = http.get("/healthz", headers={"Forwarded": "for=192.0.2.1;proto=https"})
        assert https.headers["strict-transport-security"].startswith("max-age=")
    with pytest.raises(ConfigError, match="proxy_header must be one of"):
        Settings(proxy_header="x-real-ip")


def test_a_wait_reads_in_seconds_rounded_up() -> None:
    """The chat said "Please wait 1 seconds" (an audit)."""
    assert [seconds(n) for n in (0.2, 1, 1.5, 30)] == [
        "1 second", "1 second", "2 seconds", "30 seconds"]
    assert SLOW_DOWN.format(wait=seconds(1)).endswith("Please wait 1 second and try again.")


def test_every_public_action_shares_the_one_limiter(fresh) -> None:
    limiter = fresh.app.state.limiter
    assert {"ask", "feedback", "escalate", "email", "login"} <= set(limiter.rates)
    chat = Client(fresh.url + "/", verbose=False)
    replies = [chat.predict(f"question {i} about cookies", api_name="/ask")[1][-1]
               for i in range(6)]
    assert "asking very quickly" not in json.dumps(replies[:5])
    assert "asking very quickly" in json.dumps(replies[5])  # the chat's 6th ask, same bucket
    with httpx.Client(base_url=fresh.url, timeout=30) as http:
        limited = http.post("/api/ask", json={"question": "hi"},
                            headers={"X-Forwarded-For": next(_ips)})  # ignored: untrusted
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "too many requests" in limited.json()["error"]
    for _ in range(3):
        limiter.check("127.0.0.1", "escalate")
    with pytest.raises(RateLimitedError):
        limiter.check("127.0.0.1", "escalate")  # what send_to_team and the API share


def test_cors_is_ours_only_on_the_api(web) -> None:
    with httpx.Client(base_url=web.url, timeout=30) as http:
        pre = http.options("/api/ask", headers={"Origin": "https://partner.example",
                                                "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "https://partner.example"
        evil = http.options("/api/ask", headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "POST"})
        assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
        for path in ("/console/", "/console/login", "/console/config", "/", "/config",
                     "/gradio_api/info", "/healthz"):
            for origin in ("https://evil.example", "https://partner.example"):
                r = http.get(path, headers={"Origin": origin, "Host": "chat.example.com"})
                assert not any(k.startswith("access-control-") for k in r.headers), (path, r)
            pre = http.options(path, headers={"Origin": "https://evil.example",
                                              "Access-Control-Request-Method": "POST"})
            assert "access-control-allow-origin" not in pre.headers


@pytest.mark.parametrize(("path", "body"), [
    ("/gradio_api/queue/join", {"fn_index": 99, "data": [], "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": -1, "data": [], "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": "0", "data": [], "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": 0, "data": "x", "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": 0, "data": ["q", None]}),
    ("/gradio_api/queue/join", [1, 2]),
    ("/gradio_api/call/nonexistent", {"data": []}),
    ("/gradio_api/run/predict", {"data": []}),
    ("/gradio_api/run/ask", {"data": ["q"]}),
    ("/gradio_api/run/ask", {"fn_index": 3, "data": ["q", None]}),
    ("/gradio_api/run/ask", None),
])
def test_malformed_gradio_calls_are_4xx_json(web, path: str, body) -> None:
    with httpx.Client(base_url=web.url, timeout=30) as http:
        r = (http.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
             if body is None else http.post(path, json=body))
    assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
    assert set(r.json()) == {"error"}
    if r.status_code == 400:  # refused by the guard itself: hardened like every page
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store" and "referrer-policy" in r.headers


def test_an_fn_index_of_the_wrong_type_is_a_400_not_a_missing_function(web) -> None:
    """An audit: {"fn_index": "0"} read "no function with fn_index 0" (404)."""
    with httpx.Client(base_url=web.url, timeout=30) as http:
        for index in ("0", True, 1.5, None):
            r = http.post("/gradio_api/queue/join",
                          json={"fn_index": index, "data": [], "session_hash": "abc"})
            assert (r.status_code, r.json()) == (400, {"error": "'fn_index' must be an integer"})
        r = http.post("/gradio_api/queue/join",
                      json={"fn_index": 99, "data": [], "session_hash": "abc"})
        assert (r.status_code, r.json()) == (404, {"error": "no function with fn_index 99"})


def test_origin_checks_compare_scheme_host_and_port(web) -> None:
    port = web.url.rsplit(":", 1)[1]
    with httpx.Client(base_url=web.url, timeout=30) as http:
        for origin in (f"https://127.0.0.1:{port}", "http://127.0.0.1:1", "http://evil.example"):
            r = http.post("/api/ask", json={"question": "hello"}, headers={"Origin": origin})
            assert r.status_code == 403, origin
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            r = http.post("/console/login", headers={"Origin": origin},
                          data={"username": "agent", "password": PASSWORD})
            assert r.status_code == 403, origin
        same = http.post("/api/ask", json={"question": "hi"}, headers={"Origin": web.url})
        assert same.status_code in (200, 429)


def test_headers_banner_csp_and_no_store(web) -> None:
    with httpx.Client(base_url=web.url, timeout=30) as http:
        chat = http.get("/")
        assert "server" not in chat.headers
        csp = chat.headers["content-security-policy"]
        assert csp == CHAT_CSP and "unsafe-eval" not in csp and "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        login = http.get("/console/login")
        assert login.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        http.headers["Origin"] = web.url
        assert http.post("/console/login", data={"username": "agent", "password": PASSWORD}
                         ).status_code == 303
        for path in ("/console/", "/console/config", "/console/gradio_api/info"):
            r = http.get(path)
            assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
            assert "server" not in r.headers


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_logout_revokes_the_session_on_every_route(web, method: str) -> None:
    with httpx.Client(base_url=web.url, timeout=30, headers={"Origin": web.url}) as http:
        assert http.post("/console/login", data={"username": "agent", "password": PASSWORD}
                         ).status_code == 303
        token = http.cookies.get(COOKIE)
        assert http.get("/console/config").status_code == 200
        assert http.request(method, "/console/logout").status_code == 303
    with httpx.Client(base_url=web.url, timeout=30, cookies={COOKIE: token}) as replay:
        assert replay.get("/console/config").status_code == 401


def test_short_console_password_refuses_to_start(tmp_path, korero_index_dir,
                                                 monkeypatch) -> None:
    settings = Settings(index=korero_index_dir, outbox=tmp_path / "o.sqlite3",
                        console_users="agent:longenough-password,bob:short")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(ConfigError, match="'bob'.*at least 12"):
        create_app(settings, start_worker=False)
    assert list(scratch.iterdir()) == []  # the app's file cache went with it
    env = {"POLICY_QA_CONSOLE_USERS": "carol:tiny", "POLICY_QA_INDEX": str(korero_index_dir),
           "POLICY_QA_OUTBOX": str(tmp_path / "o.sqlite3"), "HF_HUB_OFFLINE": "1",
           "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "ui.cli.main", "serve", "--port", "1"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "'carol'" in run.stderr and "12" in run.stderr and "Traceback" not in run.stderr


def queue(http: httpx.Client, session: str, fn_index: int, data: list, **extra) -> None:
    """One event through gradio's queue, as the page sends it; waits for it to finish."""
    r = http.post("/gradio_api/queue/join", json={"fn_index": fn_index, "data": data,
                                                  "session_hash": session, **extra})
    assert r.status_code == 200, r.text
    with http.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as events:
        for line in events.iter_lines():
            if "process_completed" in line:
                return


def test_thumbs_are_one_vote_per_answer_and_rate_limited(fresh) -> None:
    deps = {d["api_name"]: d["id"] for d in httpx.get(fresh.url + "/config").json()[
        "dependencies"]}
    recorder = fresh.app.state.recorder
    fresh.app.state.limiter.rates["ask"] = Rate(100, 0.6)  # only the thumbs run out here

    def votes() -> int:
        recorder.flush()
        with sqlite3.connect(fresh.settings.analytics) as db:
            return db.execute("SELECT count(*) FROM feedback").fetchone()[0]

    with httpx.Client(base_url=fresh.url, timeout=30) as http:
        queue(http, "voter1", deps["ask"], ["Do you sell my data?", None])
        for _ in range(30):
            queue(http, "voter1", deps["feedback"], [None],
                  event_data={"index": [1, 0], "value": "x", "liked": False})
        assert votes() == 1
        for i in range(2, 12):  # new answers: each a vote, until the bucket is empty
            queue(http, "voter1", deps["ask"], [f"question {i} on cookies", None])
            queue(http, "voter1", deps["feedback"], [None],
                  event_data={"index": [2 * i - 1, 0], "value": "x", "liked": True})
    assert votes() == 5  # the feedback bucket holds requests_per_minute=5
