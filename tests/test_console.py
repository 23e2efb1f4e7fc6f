"""The support-agent console over real HTTP on loopback: login, sessions, Origin checks,
no way in without a session, the queue/resolve/resend/diagnostics/analytics data, and
escaping of visitor text. Plus unit tests of the auth building blocks."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from fastapi import FastAPI
from gradio_client import Client
from web_server import serve_app

from index.errors import ConfigError, RateLimitedError
from qa.analytics import Analytics
from qa.escalation.outbox import Outbox
from ui.web.client_address import ClientAddressMiddleware, parse_networks
from ui.web.console.auth import (
    COOKIE,
    MIN_ITERATIONS,
    Credentials,
    Sessions,
    hash_password,
    parse_users,
    same_origin,
    verify_password,
)
from ui.web.console.pages import mount_console
from ui.web.console.queue import section_choices
from ui.web.rate_limit import Rate, RateLimiter

XSS = "<img src=x onerror=alert(1)> do you sell my data to <script>alert(2)</script>?"
USERS = "alice:s3cret-Pa55-long,bob:" + hash_password("hunter22-hunter22",
                                                       iterations=MIN_ITERATIONS)
SECTION = "when-would-we-share-your-information"




@dataclass
class Console:
    base: str
    outbox: Outbox
    analytics: Analytics
    service: Any

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30)

    def login(self, name: str = "alice", password: str = "s3cret-Pa55-long") -> httpx.Client:
        http = self.client()
        response = http.post("/console/login", data={"username": name, "password": password},
                             headers={"Origin": self.base})
        assert response.status_code == 303, response.text
        return http

    def gradio(self, http: httpx.Client) -> Client:
        cookie = f"{COOKIE}={http.cookies.get(COOKIE)}"
        return Client(self.base + "/console/", headers={"Cookie": cookie, "Origin": self.base},
                      verbose=False)


@pytest.fixture()
def console(make_service, tmp_path: Path) -> Iterator[Callable[..., Console]]:
    stack: list[Any] = []

    def start(users: str = USERS, app: FastAPI | None = None, **changes: Any) -> Console:
        service = make_service(console_users=users, **changes)
        outbox = Outbox.from_settings(service.settings)  # the console opens the same file
        analytics = Analytics.from_settings(service.settings)
        app = app or FastAPI()
        mount_console(app, service, service.settings, analytics,
                      cache=tmp_path / f"console-{len(stack)}")
        # as create_app does: loopback is a trusted reverse proxy here (X-Forwarded-Proto)
        app.add_middleware(ClientAddressMiddleware, trusted=parse_networks("127.0.0.1"))
        cm = serve_app(app)
        base = cm.__enter__()
        stack.append(cm)
        return Console(base, outbox, analytics, service)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


# --- disabled ------------------------------------------------------------------------

DEFAULT_GUESSES = [("admin", "admin"), ("admin", ""), ("admin", "password"), ("", ""),
                   ("root", "root"), ("console", "console")]


def test_without_users_the_console_is_disabled_and_no_default_password_works(console) -> None:
    c = console(users="")
    with c.client() as http:
        page = http.get("/console/")
        assert page.status_code == 503
        assert "POLICY_QA_CONSOLE_USERS" in page.text and "no default password" in page.text
        for name, password in DEFAULT_GUESSES:
            r = http.post("/console/login", data={"username": name, "password": password},
                          headers={"Origin": c.base})
            assert r.status_code == 503 and COOKIE not in r.headers.get("set-cookie", "")
        for path in ("/console/config", "/console/gradio_api/info", "/console/login"):
            r = http.get(path)
            assert r.status_code == 503 and "named_endpoints" not in r.text


# --- login ---------------------------------------------------------------------------

def test_wrong_password_is_401_and_login_is_rate_limited(console) -> None:
    c = console()
    with c.client() as http:
        for _ in range(5):
            r = http.post("/console/login", data={"username": "alice", "password": "nope"},
                          headers={"Origin": c.base})
            assert r.status_code == 401 and "Wrong name or password" in r.text
            assert COOKIE not in r.headers.get("set-cookie", "")
        r = http.post("/console/login", data={"username": "alice", "password": "s3cret-Pa55-long"},
                      headers={"Origin": c.base})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 200
        minutes = math.ceil(int(r.headers["Retry-After"]) / 60)  # said in words too
        assert f"try again in {minutes} minutes." in r.text
        assert COOKIE not in r.headers.get("set-cookie", "")
        assert http.get("/console/config").status_code == 401


def test_guesses_sent_at_once_cannot_pass_the_sign_in_limit(console, monkeypatch) -> None:
    """A sign-in takes its token before the password is checked: 12 guesses in flight at
    once get 5 checks and 7 refusals (before, every one was checked while the others'
    hashes ran, and the right password among them got in: the security review's repro)."""
    from ui.web.console.auth import Credentials

    real = Credentials.check

    def slow_check(self, name: str, password: str) -> bool:
        time.sleep(0.5)  # every request is in flight before the first check ends
        return real(self, name, password)

    monkeypatch.setattr(Credentials, "check", slow_check)
    c = console()
    guesses = [f"guess-{i}" for i in range(11)] + ["s3cret-Pa55-long"]

    def attempt(password: str) -> int:
        with c.client() as http:
            return http.post("/console/login", data={"username": "alice", "password": password},
                             headers={"Origin": c.base}).status_code

    with ThreadPoolExecutor(len(guesses)) as pool:
        codes = list(pool.map(attempt, guesses))
    assert codes.count(429) == 7 and codes.count(401) + codes.count(303) == 5, codes


def test_sign_ins_that_succeed_leave_the_limit_to_failures(console) -> None:
    c = console()
    for _ in range(7):  # more than the five failures allowed: each token is given back
        c.login().close()
    with c.client() as http:
        codes = [http.post("/console/login", data={"username": "alice", "password": "nope"},
                           headers={"Origin": c.base}).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


def test_a_sign_in_being_checked_holds_no_other_request(console, monkeypatch) -> None:
    """The password check (PBKDF2, ~0.3 s of CPU) runs off the event loop: while one
    is held mid-check, the console's sign-in page still answers (before, the audit saw
    30 parallel sign-ins hold every request for 7.8 s)."""
    import threading

    from ui.web.console.auth import Credentials

    entered, release = threading.Event(), threading.Event()

    def slow_check(self, name: str, password: str) -> bool:
        entered.set()
        release.wait(10)
        return False

    monkeypatch.setattr(Credentials, "check", slow_check)
    c = console()
    results: list[int] = []
    with c.client() as first, c.client() as second:
        signing = threading.Thread(target=lambda: results.append(first.post(
            "/console/login", data={"username": "alice", "password": "x"},
            headers={"Origin": c.base}).status_code))
        signing.start()
        try:
            assert entered.wait(10)
            assert second.get("/console/login", timeout=5).status_code == 200
        finally:
            release.set()
            signing.join(10)
    assert results == [401]


@pytest.mark.parametrize(("name", "password"),
                         [("alice", "s3cret-Pa55-long"), ("bob", "hunter22-hunter22")])
def test_right_password_sets_a_hardened_session_cookie(console, name: str, password: str) -> None:
    c = console()
    with c.client() as http:
        r = http.post("/console/login", data={"username": name, "password": password},
                      headers={"Origin": c.base})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(COOKIE + "=")
        attrs = {a.strip().lower() for a in cookie.split(";")}
        assert {"httponly", "samesite=strict", "path=/console"} <= attrs
        assert "secure" not in attrs  # plain http on loopback; https requests get Secure
        assert password not in cookie
        page = http.get("/console/")
        assert page.status_code == 200 and "<gradio-app" in page.text
        assert http.get("/console/config").json()["username"] == name
        assert http.get("/console/login").status_code == 303  # already signed in


def test_cookie_is_secure_over_https(console) -> None:
    c = console()
    with c.client() as http:  # X-Forwarded-Proto from loopback, a trusted proxy here
        r = http.post("/console/login", data={"username": "alice", "password": "s3cret-Pa55-long"},
                      headers={"Origin": c.base.replace("http://", "https://"),
                               "X-Forwarded-Proto": "https"})
        assert r.status_code == 303
        assert "secure" in {a.strip().lower() for a in r.headers["set-cookie"].split(";")}


def test_console_hash_command(monkeypatch, capsys) -> None:
    import argparse
    import io

    from ui.cli import console as cli_console

    parser = argparse.ArgumentParser()
    cli_console.register(parser.add_subparsers())
    args = parser.parse_args(["console-hash", "carol", "--iterations", "100000"])
    monkeypatch.setattr("sys.stdin", io.StringIO("pass,word:with punctuation\n"))
    assert args.handler(args, None) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("carol:pbkdf2_sha256$100000$") and "pass,word" not in line
    assert Credentials(parse_users(line)).check("carol", "pass,word:with punctuation")
    with pytest.raises(ConfigError):
        args.handler(parser.parse_args(["console-hash", "bad,name"]), None)

    def ended(prompt: str) -> str:  # Ctrl-D at the terminal's prompt
        raise EOFError

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", ended)
    with pytest.raises(ConfigError, match="no password given"):  # one line, exit 2
        args.handler(args, None)


def test_logout_revokes_the_session(console) -> None:
    c = console()
    http = c.login()
    token = http.cookies.get(COOKIE)
    r = http.post("/console/logout", headers={"Origin": c.base})
    assert r.status_code == 303 and f'{COOKIE}=""' in r.headers["set-cookie"]
    with c.client() as other:
        other.cookies.set(COOKIE, token, path="/console")
        assert other.get("/console/config").status_code == 401
    http.close()


def test_a_logout_outlives_a_restart_when_sessions_do(console) -> None:
    """With a session secret a session survives a restart, and so must its logout (the
    security review: revocations were kept in memory, so a signed-out cookie worked
    again after a restart). Another session stays valid."""
    secret = "k3y-" + "x" * 40
    first = console(session_secret=secret)
    out, kept = first.login(), first.login()
    token = out.cookies.get(COOKIE)
    assert out.post("/console/logout", headers={"Origin": first.base}).status_code == 303
    second = console(session_secret=secret)  # a restart: a new app on the same files
    for cookie, status in ((token, 401), (kept.cookies.get(COOKIE), 200)):
        with second.client() as http:
            http.cookies.set(COOKIE, cookie, path="/console")
            assert http.get("/console/config").status_code == status
    out.close()
    kept.close()


# --- no way in without a session -----------------------------------------------------

PROTECTED_GET = ["/console/config", "/console/gradio_api/info", "/console/gradio_api/openapi.json",
                 "/console/gradio_api/queue/data?session_hash=abc",
                 "/console/gradio_api/upload_progress?upload_id=x", "/console/theme.css",
                 "/console/gradio_api/app_id"]
PROTECTED_POST = ["/console/gradio_api/queue/join", "/console/gradio_api/upload",
                  "/console/gradio_api/run/queue", "/console/gradio_api/call/resolve"]


def test_console_pages_and_api_need_a_session(console) -> None:
    c = console()
    forged = "alice|9999999999|nonce|" + "0" * 64
    for cookies in ({}, {COOKIE: forged}, {COOKIE: "garbage"}):
        with c.client() as http:
            for name, value in cookies.items():
                http.cookies.set(name, value, path="/console")
            for path in ("/console", "/console/"):
                r = http.get(path)
                assert r.status_code == 303 and r.headers["location"] == "/console/login"
            for path in PROTECTED_GET:
                assert http.get(path).status_code == 401, path
            for path in PROTECTED_POST:
                r = http.post(path, json={"data": [], "fn_index": 0, "session_hash": "abc"},
                              headers={"Origin": c.base})
                assert r.status_code == 401, path
    with c.client() as http:
        assert "named_endpoints" not in http.get("/console/gradio_api/info").text


def test_a_mails_deep_link_survives_the_sign_in(console) -> None:
    """A mail links /console/?escalation=ID: signed out, the login keeps the link and
    signing in lands on it. Anything else in the query is dropped (no open redirect)."""
    c = console()
    with c.client() as http:
        r = http.get("/console/?escalation=esc_Ab3-x_9")
        assert r.status_code == 303
        assert r.headers["location"] == "/console/login?escalation=esc_Ab3-x_9"
        form = http.get("/console/login?escalation=esc_Ab3-x_9").text
        assert 'action="login?escalation=esc_Ab3-x_9"' in form
        r = http.post("/console/login?escalation=esc_Ab3-x_9", headers={"Origin": c.base},
                      data={"username": "alice", "password": "s3cret-Pa55-long"})
        assert r.status_code == 303 and r.headers["location"] == "./?escalation=esc_Ab3-x_9"
    with c.client() as http:
        for query in ("escalation=x&next=//evil.example", "next=https://evil.example",
                      "escalation=%3Cscript%3E"):
            r = http.get(f"/console/?{query}")
            assert r.headers["location"] == "/console/login", query
            assert "evil" not in http.get(f"/console/login?{query}").text


def test_cross_origin_posts_are_refused(console) -> None:
    c = console()
    http = c.login()
    body = {"data": ["all"], "fn_index": 0, "session_hash": "abc"}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {},
                    {"Referer": "http://evil.example/page"},
                    {"Origin": c.base.replace("127.0.0.1", "localhost")}):
        r = http.post("/console/gradio_api/queue/join", json=body, headers=headers)
        assert r.status_code == 403, headers
        r = http.post("/console/login", data={"username": "alice", "password": "s3cret-Pa55-long"},
                      headers=headers)
        assert r.status_code == 403 and COOKIE not in r.headers.get("set-cookie", "")
        # the reason never sends an admin to POLICY_QA_ALLOWED_ORIGINS (it covers /api/ only)
        assert "ALLOWED_ORIGINS" not in r.json()["error"], r.json()
    r = http.post("/console/logout", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert http.get("/console/config").status_code == 200  # still signed in
    r = http.post("/console/gradio_api/queue/join", json=body,
                  headers={"Referer": c.base + "/console/"})
    assert r.status_code != 403
    http.close()


def test_console_wins_over_a_public_blocks_mounted_at_root(console) -> None:
    with gr.Blocks() as public:
        gr.Textbox()
    app = gr.mount_gradio_app(FastAPI(), public, "/")
    c = console(app=app)
    with c.client() as http:
        assert http.get("/console/").status_code == 303
        assert "Sign in" in http.get("/console/login").text
        assert http.get("/console/config").status_code == 401
        public_api = http.get("/gradio_api/info").json()
        assert not any(name in str(public_api) for name in ("resolve", "resend", "diagnose"))


# --- the console's data --------------------------------------------------------------

def test_queue_open_resend_and_resolve(console) -> None:
    c = console()
    failed = c.outbox.enqueue("Is my data stored in the EU?", to="privacy@example.com")
    (claim,) = c.outbox.claim_due()
    assert c.outbox.mark_failed(claim, "SMTP 550 mailbox unavailable")
    esc = c.outbox.enqueue(XSS, to="privacy@example.com", email="asker@example.org",
                           passages=[{"section": "Sharing", "anchor": SECTION, "url": "u",
                                      "quote": "Korero does not sell", "score": 0.31,
                                      "document": {"id": "privacy", "title": "Privacy Policy",
                                                   "url": "https://koreroapp.com/privacy"}},
                                     {"section": "Cookies", "anchor": "cookies", "url": "",
                                      "quote": "We use cookies", "score": 0.2}],
                           page_url="https://koreroapp.com/pricing",
                           conversation=["Do you sell my data?"])
    http = c.login()
    api = c.gradio(http)

    counts, table, _ = api.predict("all", "", "", "", "anyone", api_name="/queue")
    assert "2 of 2 escalations match" in counts and "failed: 1" in counts
    assert "<img" not in counts
    rows = {row[0]: row for row in table["data"]}
    assert rows[esc.id][7] == XSS and rows[esc.id][8] == "asker@example.org"
    assert rows[failed.id][3] == "failed" and "550" in rows[failed.id][9]
    counts, only_failed, _ = api.predict("failed", "", "", "", "anyone", api_name="/queue")
    assert [r[0] for r in only_failed["data"]] == [failed.id]
    assert "1 of 2 escalations match" in counts  # the counts follow the filter
    counts, _, _ = api.predict("all", "", "", "stored in the", "anyone", api_name="/queue")
    assert counts.startswith("**1 of 1 escalations match") and "queued: 0" in counts
    counts, _, _ = api.predict("all", "2030-01-01", "", "", "anyone", api_name="/queue")
    assert "0 of 0" in counts
    counts, _, _ = api.predict("all", "31/12/2025", "", "", "anyone", api_name="/queue")
    assert "Filter not applied" in counts and "2026-01-31" in counts

    out = api.predict(esc.id, api_name="/open_escalation")
    (ident, question, email, reason, state, page, error, earlier, passages, _resolution,
     reply, history, *_buttons, message) = out
    assert (question, email, ident, message) == (XSS, "asker@example.org", esc.id, "")
    assert state.startswith("queued; asked ") and "no response yet" in state
    assert page == "https://koreroapp.com/pricing" and earlier == "1. Do you sell my data?"
    # which document each passage is from, and its link (audit: several documents)
    assert passages["data"] == [["Privacy Policy", "Sharing", "Korero does not sell", "u"],
                                ["", "Cookies", "We use cookies", "#cookies"]]
    assert 'href="mailto:asker@example.org?subject=Re%3A%20%26lt' not in reply
    assert 'href="mailto:asker@example.org?subject=Re%3A%20%3Cimg' in reply
    assert "<img" not in reply and "<script" not in reply
    assert api.predict(failed.id, api_name="/open_escalation")[6].startswith("SMTP 550")
    assert "no escalation" in api.predict("esc_nope", api_name="/open_escalation")[-1]

    assert "only failed" in api.predict(esc.id, api_name="/resend")
    assert "queued again" in api.predict(failed.id, api_name="/resend")
    assert c.outbox.get(failed.id).status == "queued" and c.outbox.get(failed.id).attempts == 0

    assert "note is required" in api.predict(esc.id, "", SECTION, api_name="/resolve")[0]
    assert "unknown section" in api.predict(esc.id, "x", "no-such-anchor",
                                            api_name="/resolve")[0]
    assert c.outbox.get(esc.id).status == "queued"
    result, note, section = api.predict(esc.id, "Answered by e-mail.", SECTION,
                                        api_name="/resolve")
    assert "resolved" in result and note == "" and section is None  # cleared for the next
    done = c.outbox.get(esc.id)
    assert (done.status, done.resolution_note, done.resolution_section) == (
        "resolved", "Answered by e-mail.", SECTION)
    assert "cannot be resolved" in api.predict(esc.id, "again", "", api_name="/resolve")[0]
    assert [(e.actor, e.action) for e in c.outbox.events(failed.id)] == [("alice", "resent")]
    assert [(e.actor, e.action) for e in c.outbox.events(esc.id)] == [("alice", "resolved")]
    http.close()


def test_assign_and_bulk_resolve_as_the_signed_in_user(console) -> None:
    c = console()
    ids = [c.outbox.enqueue(q, to="privacy@example.com").id
           for q in ("Do you keep voice notes?", "Where is my data stored?",
                     "Who is your DPO?")]
    http = c.login("bob", "hunter22-hunter22")
    api = c.gradio(http)
    assert "assigned" in api.predict(ids[0], "alice", api_name="/assign")
    assert c.outbox.get(ids[0]).assignee == "alice"
    counts, table, _ = api.predict("open", "", "", "", "unassigned", api_name="/queue")
    assert "2 of 2" in counts and ids[0] not in {r[0] for r in table["data"]}
    counts, table, _ = api.predict("open", "", "", "", "alice", api_name="/queue")
    assert [r[0] for r in table["data"]] == [ids[0]] and table["data"][0][4] == "alice"

    _, _, choices = api.predict("open", "", "", "", "anyone", api_name="/queue")
    picker = [value for _label, value in choices["choices"]]
    assert sorted(picker) == sorted(ids)  # the bulk picker lists the open ones shown
    result, note, _ = api.predict(ids[:2], "Answered in the FAQ.", SECTION,
                                  api_name="/resolve_many")
    assert result.startswith("2 escalation(s) resolved") and note == ""
    assert [c.outbox.get(i).status for i in ids] == ["resolved", "resolved", "queued"]
    _, _, choices = api.predict("all", "", "", "", "anyone", api_name="/queue")
    assert [v for _, v in choices["choices"]] == [ids[2]]  # resolved ones are not offered
    assert [(e.actor, e.action) for e in c.outbox.events(ids[0])] == [
        ("bob", "assigned"), ("bob", "resolved")]
    http.close()


def test_visitor_text_only_reaches_text_components(console) -> None:
    """Tables render every cell as plain text and the only HTML component is the
    static sign-out form: visitor text can never be interpreted as markup."""
    c = console()
    http = c.login()
    components = http.get("/console/config").json()["components"]
    tables = [x for x in components if x["type"] == "dataframe"]
    assert len(tables) >= 6
    for table in tables:
        kinds = table["props"]["datatype"]
        assert set(kinds if isinstance(kinds, list) else [kinds]) == {"str"}
    # no gr.HTML at all (it needs 'unsafe-eval'); the reply link is Markdown, empty until
    # an escalation is opened, its href percent-encoded (tests/test_inbox.py)
    assert not [x for x in components if x["type"] in ("html", "plot")]
    markdown = {x["props"].get("elem_id"): x["props"] for x in components
                if x["type"] == "markdown"}
    logout, = [x["props"] for x in components if x["props"].get("elem_id") == "logout"]
    assert logout["link"] == "logout" and logout["link_target"] == "_self"
    assert not markdown["esc-reply-box"].get("value")
    http.close()


def test_section_picker_offers_the_index_anchors(service) -> None:
    choices = dict((anchor, label) for label, anchor in section_choices(service))
    assert SECTION in choices and "privacy-policy" in choices
    assert len(choices) == len({c.anchor for c in service.index.chunks})


def test_diagnostics_show_every_candidate_and_why(console) -> None:
    c = console()
    http = c.login()
    api = c.gradio(http)
    threshold = c.service.decision["threshold"]  # the answerability model's
    verdict, shown_threshold, table, preview, raw = api.predict(
        "Do you sell my data?", api_name="/diagnose")
    assert shown_threshold == threshold
    assert verdict.startswith("RESOLVED") and f"{threshold:.2f}" in verdict
    assert "answerability model" in verdict and "no labels of this policy" in verdict
    rows = table["data"]
    assert table["headers"][7:10] == ["late", "above threshold", "shown to visitor"]
    assert len(rows) == 10 and rows[0][3] == SECTION and rows[0][9] == "yes"
    assert all(isinstance(r[4], float) and isinstance(r[5], float) for r in rows)
    assert all(0 < r[7] <= 1 for r in rows)  # each of the ten is a late-interaction candidate
    assert [r[4] for r in rows] == sorted((r[4] for r in rows), reverse=True)
    assert "Korero does not sell" in preview and '"resolved": true' in raw

    verdict, _, table, preview, raw = api.predict(XSS + " my cat's favourite colour",
                                                  api_name="/diagnose")
    assert verdict.startswith("NOT RESOLVED") and "below the threshold" in verdict
    assert "<img" not in preview and "<img" not in verdict and "<img" in raw
    assert api.predict("   ", api_name="/diagnose")[0].startswith("Not a usable question")
    http.close()


def test_index_status_and_analytics(console) -> None:
    c = console()
    for q, resolved in ((XSS, False), (XSS, False), ("Do you sell my data?", True)):
        answer = c.service.ask(q)
        assert answer.resolved is resolved
        c.analytics.record_answer(answer, "203.0.113.9")
    c.analytics.record_feedback(XSS, "Our privacy policy does not seem to cover this.", False)
    http = c.login()
    api = c.gradio(http)
    status = dict(api.predict(api_name="/index_status")["data"])
    manifest = c.service.index.manifest
    assert status["policy SHA-256"] == manifest["policy_sha256"]
    assert status["chunks"] == str(manifest["chunks"]) and status["model"] == manifest["model"]
    assert status["last revised"] == manifest["last_revised"] and status["built at"]
    assert status["resolved/unresolved by"] == "answerability"  # how it was fitted, too
    assert status["decision threshold"] == "0.5" and "no labels" in status["decision fitted"]
    assert status["this index's scale (bank means)"].startswith("top 0.")

    rate, per_day, top, down = api.predict(api_name="/analytics")
    assert "33.3%" in rate and "of 3 question(s)" in rate
    assert per_day["data"][0][1:] == [3, 1, 2]
    assert top["data"] == [[" ".join(XSS.split()), 2]]
    assert down["data"][0][1] == XSS
    http.close()


# --- auth building blocks ------------------------------------------------------------

def test_password_hashes_and_plain_passwords() -> None:
    stored = hash_password("correct horse", iterations=1000, salt="abc")
    assert stored.startswith("pbkdf2_sha256$1000$abc$")
    assert verify_password("correct horse", stored) and not verify_password("Correct horse", stored)
    assert verify_password("p:w", "p:w") and not verify_password("p:w", "p:w ")
    with pytest.raises(ConfigError):
        hash_password("")


@pytest.mark.parametrize("spec", ["alice", "alice:", ":pw", "al ice:pw",
                                  "bob:pbkdf2_sha256$x$salt$aGk=", "bob:pbkdf2_sha256$1$s$bad!"])
def test_malformed_users_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_users(spec)


@pytest.mark.parametrize("spec", [":correct-horse-battery", "alice=correct-horse-battery",
                                  "alice correct-horse-battery", "ok:long-enough-pass-1,:hunter"
                                  "-hunter-22", "al ice:correct-horse-battery"])
def test_a_malformed_entry_is_named_by_its_place_never_by_its_password(spec: str) -> None:
    """The error goes to stderr and so to any log collector (found by an audit: the
    first 20 characters of the entry, password included, were printed)."""
    with pytest.raises(ConfigError, match=r"console_users entry \d of \d") as err:
        parse_users(spec)
    for secret in ("correct", "horse", "battery", "hunter"):
        assert secret not in str(err.value)


def test_a_user_listed_twice_is_refused() -> None:
    """Found by an audit: the last entry won silently, so the password an operator
    believed in was refused at sign-in."""
    with pytest.raises(ConfigError, match="'alice' is listed twice"):
        parse_users("alice:correct-horse-battery, alice:another-password-x")
    assert set(parse_users("alice:correct-horse-battery,bob:another-password-x")) == {
        "alice", "bob"}


def test_a_weak_password_hash_is_refused_with_the_way_out() -> None:
    """A hash of 1,000 iterations is a few ms of work to try a guess offline (the
    security review: any count from 1 up was accepted)."""
    with pytest.raises(ConfigError, match=r"1000 iterations; use at least 100000.*console-hash"):
        parse_users("bob:" + hash_password("hunter22-hunter22", iterations=1000))
    assert parse_users("bob:" + hash_password("x", iterations=MIN_ITERATIONS))


def test_credentials() -> None:
    users = parse_users(" alice:pw:with:colons , bob:" + hash_password(
        "x", iterations=MIN_ITERATIONS))
    creds = Credentials(users)
    assert creds.check("alice", "pw:with:colons") and creds.check("bob", "x")
    assert not creds.check("alice", "pw") and not creds.check("carol", "x")
    assert not Credentials({}).enabled and not Credentials({}).check("", "")


def test_every_sign_in_costs_one_hash_when_plain_and_hashed_users_are_mixed(monkeypatch) -> None:
    """A plain password's user, a hashed one's and an unknown name each cost one
    PBKDF2 run, so timing tells none apart (the audit timed 0.002 s against 0.28 s)."""
    from ui.web.console import auth as auth_module

    runs = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(auth_module.hashlib, "pbkdf2_hmac",
                        lambda *a: runs.append(1) or real(*a))
    users = parse_users("alice:plain-password-1234,bob:" + hash_password(
        "x", iterations=MIN_ITERATIONS))
    creds = Credentials(users)
    for name, password in [("alice", "wrong"), ("alice", "plain-password-1234"),
                           ("bob", "wrong"), ("nobody", "wrong")]:
        runs.clear()
        creds.check(name, password)
        assert len(runs) == 1, name


def test_sessions_sign_expire_and_revoke() -> None:
    now = [1000.0]
    sessions = Sessions("secret", ttl=60, clock=lambda: now[0])
    token = sessions.issue("alice")
    assert sessions.user(token) == "alice"
    assert Sessions("other secret").user(token) is None
    assert sessions.user(token.replace("alice", "admin", 1)) is None
    sessions.revoke(token)
    assert sessions.user(token) is None
    later = sessions.issue("alice")
    now[0] += 61
    assert sessions.user(later) is None


def _wait(limiter: RateLimiter, client: str, action: str) -> float:
    """The wait a refused `check` reports (0: the check passed and took a token)."""
    try:
        limiter.check(client, action)
    except RateLimitedError as exc:
        return exc.retry_after
    return 0


def test_login_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter({"login": Rate(3, 100.0)}, clock=lambda: now[0])
    for _ in range(3):
        assert _wait(limiter, "a", "login") == 0
    assert _wait(limiter, "a", "login") == 100 and _wait(limiter, "b", "login") == 0
    now[0] = 100.5
    limiter.check("a", "login")
    for _ in range(4):  # a refund never fills the bucket past its burst
        limiter.refund("a", "login")
    for _ in range(3):
        limiter.check("a", "login")
    with pytest.raises(RateLimitedError):
        limiter.check("a", "login")


def test_an_ipv6_subscriber_counts_as_its_64() -> None:
    """One IPv6 subscriber holds a whole /64: per address, a new address a guess would
    have had a fresh bucket (the security review); IPv4 and mapped IPv4 stay per address."""
    limiter = RateLimiter({"login": Rate(2, 300.0)})
    limiter.check("2001:db8:1:2::1", "login")
    limiter.check("2001:db8:1:2:ffff::9", "login")
    with pytest.raises(RateLimitedError):
        limiter.check("2001:db8:1:2:abcd::42", "login")
    limiter.check("2001:db8:1:3::1", "login")  # the next /64 is someone else
    for client in ("192.0.2.1", "192.0.2.2", "::ffff:192.0.2.3"):
        limiter.check(client, "login")
        limiter.check(client, "login")


@pytest.mark.parametrize(("headers", "ok"), [
    ({"host": "h:8000", "origin": "http://h:8000"}, True),
    ({"host": "example.com", "origin": "https://example.com"}, False),  # scheme differs
    ({"host": "h:8000", "referer": "http://h:8000/console/"}, True),
    ({"host": "h:8000", "origin": "http://h:8001"}, False),
    ({"host": "h:8000", "origin": "http://evil:8000"}, False),
    ({"host": "h:8000", "origin": "null"}, False),
    ({"host": "h:8000"}, False),
    ({"origin": "http://h:8000"}, False),
])
def test_same_origin(headers: dict[str, str], ok: bool) -> None:
    assert same_origin(headers) is ok


def test_same_origin_compares_the_scheme() -> None:
    here = {"host": "example.com", "origin": "https://example.com"}
    assert same_origin(here, "https") is True
    assert same_origin({"host": "h:8000", "origin": "https://h:8000"}, "http") is False
