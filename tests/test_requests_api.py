"""Privacy rights requests over the public API, on real HTTP on loopback: recognised in
/api/ask (`request: {kind}`), taken by POST /api/requests (on disk before the 201),
then e-mailed by the delivery worker to the privacy inbox once, with its due date."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from web_server import serve_app

from qa.rights.deadlines import due_dates
from qa.rights.store import RequestStore
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app

_ips = (f"10.8.{i // 250}.{i % 250 + 1}" for i in itertools.count())


@pytest.fixture(scope="module")
def web(tmp_path_factory, korero_index_dir, korero_index, embedder):
    tmp = tmp_path_factory.mktemp("requests")
    settings = Settings(
        index=korero_index_dir, outbox=tmp / "outbox.sqlite3", maildir=tmp / "maildir",
        analytics=tmp / "analytics.sqlite3", deliver_interval_seconds=0.2,
        escalations_per_hour=4, trusted_proxies="127.0.0.1")
    service = Service(settings, index=korero_index, embedder=embedder)
    app = create_app(settings, service=service)
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield SimpleNamespace(url=url, client=client, settings=settings)


def post(web, path, body, ip=None):
    return web.client.post(path, json=body, headers={"X-Forwarded-For": ip or next(_ips)})


@pytest.mark.parametrize(("message", "kind"), [
    ("Please delete my account and everything you have on me", "deletion"),
    ("send me a copy of all the data you hold about me", "access"),
    ("stop selling my personal information", "opt_out"),
])
def test_ask_names_the_right_a_request_exercises(web, message, kind):
    body = post(web, "/api/ask", {"question": message}).json()
    assert body["request"] == {"kind": kind}
    assert body["passages"] and body["escalation"] is None
    assert body["answer"].startswith("It sounds like you want to")


@pytest.mark.parametrize("question", ["How long does deletion take?", "Do you sell my data?",
                                      "What cookies do you use?"])
def test_questions_about_rights_are_not_requests(web, question):
    assert post(web, "/api/ask", {"question": question}).json()["request"] is None


def test_a_request_is_on_disk_then_mailed_once_with_its_due_date(web):
    message = "Please delete my account and all my data"
    response = post(web, "/api/requests", {"message": message, "email": "ana@example.com",
                                           "jurisdiction": "eu_uk",
                                           "details": "Account name: ana\r\nBcc: x@evil"})
    assert response.status_code == 201, response.text
    ref = response.json()["request"]
    assert set(ref) == {"id", "kind", "status", "due"}
    assert ref["kind"] == "deletion" and ref["status"] == "received"
    today = dt.datetime.now(dt.UTC).date()
    assert ref["due"] == due_dates("deletion", "eu_uk", today).respond_by.isoformat()
    lead = response.json()["answer"]  # what was done, not the offer to do it
    assert lead.startswith(f"Your request is submitted (reference {ref['id']})"), lead
    assert f"reply to ana@example.com. Their deadline to respond is {ref['due']}" in lead
    assert "some privacy laws allow them to extend it" in lead
    assert "submit your request" not in response.json()["answer"]
    stored = RequestStore.from_settings(web.settings).get(ref["id"])  # a fresh reader
    assert stored.email == "ana@example.com" and stored.question == message
    assert stored.passages  # the policy's words on the right go to the team too

    new = Path(web.settings.maildir) / "new"
    deadline = time.monotonic() + 15
    mails: list[str] = []
    while time.monotonic() < deadline:
        mails = [p.read_text() for p in new.glob("*")] if new.is_dir() else []
        if any(ref["id"] in m for m in mails):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the worker did not deliver the request to the Maildir")
    time.sleep(0.6)  # a few more passes: still one mail
    mine = [m for m in (p.read_text() for p in new.glob("*")) if ref["id"] in m]
    assert len(mine) == 1
    mail = mine[0]
    assert "Reply-To: ana@example.com" in mail and ref["due"] in mail
    assert "\nBcc:" not in mail.split("\n\n", 1)[0]  # no header injected from details


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"message": "delete my data"}, 422, "email"),
    ({"message": "delete my data", "email": "not-an-address"}, 400, "e-mail"),
    ({"message": "delete my data", "email": "a@example.com", "jurisdiction": "mars"}, 422,
     "jurisdiction"),
    ({"message": "what cookies do you use?", "email": "a@example.com"}, 400,
     "privacy right"),
    ({"message": "delete my data " * 100, "email": "a@example.com"}, 400,
     "message is 1499 characters long; the limit is"),
])
def test_bad_requests_get_a_reason_and_store_nothing(web, body, status, needle):
    before = len(RequestStore.from_settings(web.settings).list())
    response = post(web, "/api/requests", body)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"].lower()
    assert len(RequestStore.from_settings(web.settings).list()) == before


def test_requests_share_the_escalation_limit(web):
    ip = next(_ips)
    codes = [post(web, "/api/requests", {"message": "delete my data",
                                         "email": "b@example.com"}, ip=ip).status_code
             for _ in range(6)]
    assert codes[:4] == [201] * 4 and codes[-1] == 429


def test_a_retried_post_is_the_same_request_and_one_mail(web):
    ip, body = next(_ips), {"message": "Send me a copy of all the data you hold about me",
                            "email": "retry@example.com", "jurisdiction": "california"}
    first, again = (post(web, "/api/requests", body, ip=ip) for _ in range(2))
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["request"] == first.json()["request"]
    mine = [r for r in RequestStore.from_settings(web.settings).list()
            if r.email == "retry@example.com"]
    assert [r.id for r in mine] == [first.json()["request"]["id"]]


def test_a_request_quotes_what_the_policy_says_about_that_right(service):
    """"send me a copy of my data" alone finds Korero's sentence on a copy of its data
    protection addendum; with the right's words beside it, the access sentence. An
    opt-out's message is specific already: "Korero does not sell …" is still quoted."""
    access = service.ask("send me a copy of my data")
    assert access.request is not None and access.request.kind == "access"
    assert access.question == "send me a copy of my data"  # kept as asked
    assert access.passages[0].quote.startswith("You may have the right to access the "
                                               "personal information that we hold about you")
    assert not any("addendum" in p.quote for p in access.passages)
    opt_out = service.ask("stop selling my data")
    assert opt_out.request is not None and opt_out.request.kind == "opt_out"
    assert any(p.quote.startswith("Korero does not sell") for p in opt_out.passages)


def test_a_null_jurisdiction_is_an_unknown_one(web):
    response = post(web, "/api/requests", {"message": "Please delete all my data",
                                           "email": "nul@example.com", "jurisdiction": None})
    assert response.status_code == 201, response.text
    today = dt.datetime.now(dt.UTC).date()
    assert response.json()["request"]["due"] == due_dates(
        "deletion", "unknown", today).respond_by.isoformat()


def test_a_request_the_policy_does_not_cover_says_so_over_its_closest_quotes():
    """The audit: "Here is what our privacy policy says about that right" above three
    passages that never mention it. Unresolved, the lead says the policy does not seem
    to say how, and the quotes are introduced as the closest ones."""
    from qa.answering.answer import CLOSEST, REQUEST_FOUND, REQUEST_UNSURE, as_request
    from qa.records import Answer, Kind, Passage

    passage = Passage("Donations", "donations", "#donations", "We accept donations.", 0.2)
    unresolved = Answer("Can I get a copy of all the data you hold about me?", False, 0.2,
                        "", (passage,), kind=Kind.UNRESOLVED, lead="")
    request = as_request(unresolved, "access")
    assert request.kind == Kind.REQUEST and request.request.kind == "access"
    assert request.lead == REQUEST_UNSURE.format(
        what="get a copy of the personal data held about you")
    assert "does not seem to say how" in request.lead and CLOSEST in request.answer
    resolved = as_request(replace(unresolved, resolved=True), "access")
    assert resolved.lead.startswith(REQUEST_FOUND.split("{what}")[0])
    assert "does not seem" not in resolved.lead and CLOSEST not in resolved.answer
