"""The public JSON API over real HTTP on loopback (uvicorn in a thread).

Each request carries its own X-Forwarded-For address (the app is told to trust
127.0.0.1 as a reverse proxy), so every test is its own client for the per-client rate
limit.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from web_server import serve_app

from qa.escalation.outbox import Outbox
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app

RPM = 5
CONTRACT = {"question", "resolved", "confidence", "answer", "passages", "escalation",
            "request"}
PASSAGE = {"section", "anchor", "url", "quote", "score", "document"}
DOCUMENT = {"id", "title", "url"}
_ips = (f"10.9.{i // 250}.{i % 250 + 1}" for i in itertools.count())


@pytest.fixture(scope="module")
def web(tmp_path_factory, korero_index_dir, korero_index, embedder):
    tmp = tmp_path_factory.mktemp("web")
    settings = Settings(
        index=korero_index_dir, outbox=tmp / "outbox.sqlite3", maildir=tmp / "maildir",
        analytics=tmp / "analytics.sqlite3", requests_per_minute=RPM,
        deliver_interval_seconds=0.2, allowed_origins="https://partner.example",
        smtp_password="hunter2-smtp-secret", session_secret="s3ssion-secret-value",
        console_users="agent:correct-horse-battery-staple", trusted_proxies="127.0.0.1")
    service = Service(settings, index=korero_index, embedder=embedder)
    app = create_app(settings, service=service)
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield SimpleNamespace(url=url, client=client, app=app, service=service,
                              settings=settings)


def post(web, path: str, body=None, *, raw: bytes | None = None, ip: str | None = None,
         headers: dict | None = None) -> httpx.Response:
    """POST JSON (or raw bytes) as a fresh client address unless `ip` is given."""
    hdrs = {"X-Forwarded-For": ip or next(_ips), **(headers or {})}
    if raw is None:
        return web.client.post(path, json=body, headers=hdrs)
    return web.client.post(path, content=raw,
                           headers={"Content-Type": "application/json", **hdrs})


def error_of(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    return body["error"]


def test_ask_returns_the_answer_contract(web):
    question = "How do you use cookies?"
    response = post(web, "/api/ask", {"question": question})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == CONTRACT
    assert body == web.service.ask(question).to_dict()
    assert body["escalation"] is None and body["passages"]
    for passage in body["passages"]:
        assert set(passage) == PASSAGE
        assert set(passage["document"]) == DOCUMENT
        assert passage["url"].startswith(passage["document"]["url"] + "#")
        assert f"#{passage['anchor']}:~:text=" in passage["url"]


@pytest.mark.parametrize(("raw", "status", "needle"), [
    (b'{"question": ""}', 400, "empty"),
    (b'{"question": " \\n\\t "}', 400, "empty"),
    (json.dumps({"question": "why " * 251}).encode(), 400, "limit is 1000"),
    (b"{}", 422, "'question' is required"),
    (b'{"question": "do you sell', 400, "not valid JSON"),
    (b'{"question": 5}', 422, "must be a string"),
    (b'{"question": ["do you sell my data?"]}', 422, "must be a string"),
    (b'["do you sell my data?"]', 422, "JSON object"),
    (b"", 422, "JSON object"),
    (b'{"question": "caf\xe9?"}', 400, "UTF-8"),  # Latin-1, not UTF-8
    (b"[" * 5000 + b"]" * 5000, 400, "JSON"),  # nested too deeply to parse
])
def test_bad_questions_get_a_clear_json_error(web, raw, status, needle):
    response = post(web, "/api/ask", raw=raw)
    assert response.status_code == status
    assert needle in error_of(response)


def test_a_non_json_content_type_is_refused(web):
    response = web.client.post("/api/ask", content=b'{"question": "hi"}',
                               headers={"Content-Type": "text/plain",
                                        "X-Forwarded-For": next(_ips)})
    assert response.status_code == 415
    assert "application/json" in error_of(response) and "text/plain" in error_of(response)


@pytest.mark.parametrize("path", ["/api/ask", "/api/escalations", "/api/requests"])
def test_other_methods_on_the_api_get_405_not_the_chat_404(web, path):
    for method in ("GET", "PUT", "DELETE"):
        response = web.client.request(method, path, headers={"X-Forwarded-For": next(_ips)})
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "POST"
        assert "use POST" in error_of(response)


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"question": "Do you keep voice logs?", "email": "not-an-address"}, 400, "e-mail"),
    ({"question": "Do you keep voice logs?", "email": "a@b.com\r\nBcc: x@evil.com"}, 400,
     "e-mail"),
    ({"question": "Do you keep voice logs?", "email": 7}, 422, "'email' must be a string"),
    ({"email": "visitor@example.com"}, 422, "'question' is required"),
    ({"question": ""}, 400, "empty"),
    ({"question": "hello"}, 400, "no question to forward"),
])
def test_bad_escalations_get_a_clear_json_error(web, body, status, needle):
    response = post(web, "/api/escalations", body)
    assert response.status_code == status
    assert needle in error_of(response)


def test_bodies_over_the_limit_get_413_declared_or_streamed(web):
    big = json.dumps({"question": "x" * (web.settings.max_body_bytes + 10)}).encode()
    declared = post(web, "/api/ask", raw=big)
    assert declared.status_code == 413
    assert "limit is 16384 bytes" in error_of(declared)

    def chunks():  # no Content-Length: counted as it streams in
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]

    streamed = web.client.post("/api/ask", content=chunks(),
                               headers={"Content-Type": "application/json",
                                        "X-Forwarded-For": next(_ips)})
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert "too large" in error_of(streamed)
    assert post(web, "/api/escalations", raw=big).status_code == 413


def test_rate_limit_is_per_client_with_retry_after(web):
    ip = next(_ips)
    statuses = [post(web, "/api/ask", {"question": "hello"}, ip=ip).status_code
                for _ in range(RPM)]
    assert statuses == [200] * RPM
    limited = post(web, "/api/ask", {"question": "hello"}, ip=ip)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "too many requests" in error_of(limited)
    assert post(web, "/api/escalations", {"question": "hello"}, ip=ip).status_code == 429
    assert post(web, "/api/ask", {"question": "hello"}).status_code == 200  # another client


def test_cross_origin_posts_are_refused_unless_allowed(web):
    def ask(origin: str | None) -> httpx.Response:
        return post(web, "/api/ask", {"question": "hello"},
                    headers={"Origin": origin} if origin else {})

    foreign = ask("https://evil.example")
    assert foreign.status_code == 403
    assert "evil.example" in error_of(foreign) and "POLICY_QA_ALLOWED_ORIGINS" in error_of(foreign)
    assert ask("null").status_code == 403
    assert ask(None).status_code == 200  # curl and scripts send no Origin
    assert ask(web.url).status_code == 200  # same origin
    allowed = ask("https://partner.example")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://partner.example"
    gradio_post = web.client.post("/gradio_api/queue/join", json={},
                                  headers={"Origin": "https://evil.example"})
    assert gradio_post.status_code == 403  # the chat's own endpoints are covered too
    # ... and the setting that opens /api/ to partners is not offered as the fix there
    assert "ALLOWED_ORIGINS" not in error_of(gradio_post)
    assert "own pages" in error_of(gradio_post)
    upload = web.client.post("/gradio_api/upload", files={"files": ("a.txt", b"x" * 100)})
    assert upload.status_code == 404  # the public chat takes no files


def test_a_chat_page_that_lost_its_server_can_tell_it_is_back(web):
    """After a broken connection gradio's page polls `app_id` every 2 s and reloads once
    it answers; a 404 there left an embedded chat dead until the visitor reloaded the
    host page (widget audit, 2026-12-08)."""
    for path in ("/gradio_api/app_id", "/gradio_api/app_id/"):
        response = web.client.get(path)
        assert response.status_code == 200, path
        assert response.json()["app_id"] == web.client.get("/config").json()["app_id"]


def test_healthz_reports_index_and_outbox_without_secrets(web, korero_index):
    response = web.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["index"]["loaded"] is True
    assert body["index"]["chunks"] == len(korero_index.chunks)
    assert set(body["outbox"]) == {"queued", "sent", "failed", "resolved"}
    assert body["warnings"] == []  # the policy names its privacy inbox
    for secret in ("hunter2-smtp-secret", "s3ssion-secret-value", "correct-horse"):
        assert secret not in response.text


def test_healthz_gives_outbox_counts_warnings_and_model_to_internal_clients_only(web):
    """Through the trusted proxy, a visitor from the Internet gets the status a load
    balancer needs, not how much is escalated, the operator's warnings or the model's
    path; a health checker on a private network or this machine gets everything."""
    def health(forwarded_for: str | None = None) -> dict:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        response = web.client.get("/healthz", headers=headers)
        assert response.status_code == 200
        return response.json()

    for internal in (None, "10.1.2.3", "fd00::7", "::ffff:192.168.1.9", "127.0.0.1"):
        body = health(internal)
        assert {"outbox", "warnings"} <= set(body) and body["index"]["model"], internal
    # the Internet, CGNAT and Teredo addresses (not "global" to Python, yet visitors), a
    # visitor who prepends an internal address, and a hop that is no address
    for public in ("8.8.8.8", "100.64.0.1", "2001:0:4136:e378::1", "10.0.0.1, 8.8.8.8",
                   "unknown"):
        body = health(public)
        assert body["status"] == "ok" and body["index"]["loaded"] is True, public
        assert body["index"]["chunks"] > 0 and body["database"] == "ok"
        assert "outbox" not in body and "warnings" not in body, public
        assert "model" not in body["index"]


def test_widget_js_is_javascript_loadable_from_any_site(web):
    response = web.client.get("/widget.js", headers={"Origin": "https://some-blog.example"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "document.currentScript" in response.text and "PolicyQAWidget" in response.text


def test_chat_may_be_framed_but_the_console_may_not(web):
    chat = web.client.get("/")
    assert chat.status_code == 200
    assert chat.headers["content-security-policy"].endswith("; frame-ancestors *")
    assert "x-frame-options" not in chat.headers
    assert chat.headers["x-content-type-options"] == "nosniff"
    assert chat.headers["referrer-policy"]
    for path in ("/console/", "/console/login"):
        console = web.client.get(path)
        assert console.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in console.headers["content-security-policy"]


def test_openapi_documents_routes_models_and_errors(web):
    assert web.client.get("/docs").status_code == 200
    spec = web.client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/ask", "/api/escalations", "/healthz", "/widget.js"} <= set(paths)
    for path in ("/api/ask", "/api/escalations"):
        codes = set(paths[path]["post"]["responses"])
        assert {"400", "403", "413", "422", "429"} <= codes
    assert "201" in paths["/api/escalations"]["post"]["responses"]
    assert "Retry-After" in paths["/api/ask"]["post"]["responses"]["429"]["headers"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["AnswerOut"]["properties"]) == CONTRACT
    assert set(schemas["Passage"]["properties"]) == PASSAGE
    assert schemas["AskRequest"]["required"] == ["question"]
    assert schemas["AskRequest"]["examples"]
    assert set(schemas["ErrorOut"]["properties"]) == {"error"}


def test_escalation_is_on_disk_then_delivered_to_the_maildir(web):
    question = "Do you keep voice recordings of support calls?"
    ip = next(_ips)
    response = post(web, "/api/escalations",
                    {"question": question, "email": "visitor@example.com"}, ip=ip)
    assert response.status_code == 201
    esc = response.json()
    assert {"id", "status", "to"} <= set(esc) and esc["to"] == "privacy@koreroapp.com"
    stored = Outbox.from_settings(web.settings).get(esc["id"])  # a fresh reader of the file
    assert stored.question == question and stored.email == "visitor@example.com"
    again = post(web, "/api/escalations", {"question": question}, ip=ip)
    assert again.status_code == 201 and again.json()["id"] == esc["id"]  # deduplicated

    new = Path(web.settings.maildir) / "new"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        mails = [p.read_text() for p in new.glob("*")] if new.is_dir() else []
        if any(f"<{esc['id']}@" in m for m in mails):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the worker did not deliver the escalation to the Maildir")
    mail = next(m for m in mails if f"<{esc['id']}@" in m)
    assert "Reply-To: visitor@example.com" in mail and question in mail
    # the worker writes the mail, then commits "sent": the row may lag the file briefly
    outbox = Outbox.from_settings(web.settings)
    while outbox.get(esc["id"]).status != "sent" and time.monotonic() < deadline + 5:
        time.sleep(0.05)
    assert outbox.get(esc["id"]).status == "sent"


def test_public_gradio_api_lists_only_the_chat_functions(web):
    info = web.client.get("/gradio_api/info").json()
    names = set(info["named_endpoints"])
    assert "/ask" in names
    assert names <= {"/ask", "/feedback", "/add_email", "/send_to_team", "/submit_request",
                     "/decline_request", "/send_question", "/decline_question"}
    assert not info["unnamed_endpoints"]
    described = json.dumps({name: [p.get("parameter_name") for p in ep["parameters"]]
                            for name, ep in info["named_endpoints"].items()}).lower()
    for word in ("console", "login", "resolve", "resend", "diagnos", "analytics", "note"):
        assert word not in described
    assert "/console" not in json.dumps(info)


def test_raw_questions_never_reach_info_logs(web, caplog):
    caplog.set_level(logging.INFO)
    marker = "Zanzibar-marker-7731 do you share my data with insurers?"
    assert post(web, "/api/ask", {"question": marker}).status_code == 200
    assert post(web, "/api/escalations", {"question": marker}).status_code == 201
    assert post(web, "/api/ask", {"question": marker + "x" * 2000}).status_code == 400
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert any(r.name == "ui.web.app" and "chars" in r.getMessage() for r in records)
    for record in records:
        assert "zanzibar" not in record.getMessage().lower()


def test_concurrent_questions_share_embedding_batches(web):
    questions = [f"Do you share my data with partner number {i}?" for i in range(32)]
    web.app.state.batcher.batch_sizes.clear()
    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda q: post(web, "/api/ask", {"question": q}), questions))
    assert [r.status_code for r in responses] == [200] * 32
    assert [r.json()["question"] for r in responses] == questions  # no mix-ups
    sizes = web.app.state.batcher.batch_sizes
    assert sum(sizes) >= 32 and max(sizes) > 1 and len(sizes) < 32


def test_answers_are_recorded_for_analytics(web):
    question = "Do you use web beacons to track me?"
    assert post(web, "/api/ask", {"question": question}).status_code == 200
    web.app.state.recorder.flush()
    counts = web.app.state.analytics.questions_per_day(1)
    assert counts and counts[-1][1] >= 1


def test_origin_behind_a_reverse_proxy_matches_the_forwarded_host(web):
    proxied = post(web, "/api/ask", {"question": "hello"},
                   headers={"Origin": "https://policy.example.com",
                            "X-Forwarded-Host": "policy.example.com",
                            "X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200
    spoofed = post(web, "/api/ask", {"question": "hello"},
                   headers={"Origin": "https://evil.example",
                            "X-Forwarded-Host": "policy.example.com"})
    assert spoofed.status_code == 403


def test_escalation_carries_the_page_and_the_conversation(web):
    body = {"question": "Do you keep recordings of my support calls forever?",
            "page_url": "https://koreroapp.com/support",
            "conversation": ["Hi?", "Do you sell my data?"]}
    response = post(web, "/api/escalations", body)
    assert response.status_code == 201, response.text
    stored = Outbox.from_settings(web.settings).get(response.json()["id"])
    assert stored.page_url == "https://koreroapp.com/support"
    assert stored.conversation == ("Hi?", "Do you sell my data?")
    assert stored.reason == "unanswered"
    for bad, why in (("javascript:alert(1)", "http:// or https://"),
                     ("https://a.example/\nBcc: x@y.z", "control characters")):
        response = post(web, "/api/escalations", {**body, "page_url": bad})
        assert response.status_code == 400 and why in error_of(response)
    too_long = "https://a.example/" + "x" * 2000
    response = post(web, "/api/escalations", {**body, "page_url": too_long})
    assert response.status_code == 422  # the schema's length cap


def test_a_server_fault_is_told_to_visitors_without_its_settings(caplog):
    """The database's reason names its host, user and name, and an index's its folder:
    settings no visitor may read. Visitors get a fixed sentence; the log the reason."""
    from index.errors import EmailError, IndexLoadError, StoreUnavailableError
    from ui.web.errors import visitor_message

    secret = "the outbox (PostgreSQL at postgresql://app@10.0.0.5:5432/pq) is unavailable"
    with caplog.at_level("WARNING", logger="ui.web.errors"):
        told = visitor_message(StoreUnavailableError(secret))
    assert "10.0.0.5" not in told and "nothing was recorded" in told
    assert secret in caplog.text
    assert "/srv/index" not in visitor_message(IndexLoadError("no index at /srv/index"))
    assert visitor_message(EmailError("not an e-mail address")) == "not an e-mail address"
