"""A visitor on a third-party page hands a question to the privacy team through the
embedded widget (headless Chromium), and the privacy officer's mail (real aiosmtpd)
says which page they were on (origin and path only), what they asked before, links to
the escalation in the console and carries no scores; a thumbs-down hand-off is marked
unhelpful and says so."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from browser_kit import REPLY, ask, chromium, needs_chromium, new_page
from smtp_server import SmtpServer
from web_server import serve_app, serve_page

from qa.escalation.delivery import deliver_due
from qa.escalation.outbox import Outbox
from qa.escalation.transport import SmtpTransport
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app

PUBLIC = "https://help.koreroapp.example"
SENDER = "privacy-bot@koreroapp.example"
FIRST = "Do you sell my data?"
UNANSWERED = "Can I bring my dog to your office?"


def host_page(app_url: str) -> str:
    """A third-party page that embeds the chat with the loader."""
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ACME</title>'
            f'</head><body><h1>ACME</h1><script src="{app_url}/widget.js" defer></script>'
            "</body></html>")


pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


@contextmanager
def _site(tmp_path, korero_index_dir, korero_index, embedder, interval: float):
    with SmtpServer() as smtp:
        settings = Settings(index=korero_index_dir, outbox=tmp_path / "outbox.sqlite3",
                            maildir=tmp_path / "maildir", analytics=tmp_path / "a.sqlite3",
                            requests_per_minute=1000, deliver_interval_seconds=interval,
                            smtp_host=smtp.host, smtp_port=smtp.port, mail_from=SENDER,
                            public_url=PUBLIC)
        service = Service(settings, index=korero_index, embedder=embedder)
        assert service.ask(FIRST).resolved and not service.ask(UNANSWERED).resolved
        with serve_app(create_app(settings, service=service)) as url:
            yield SimpleNamespace(url=url, smtp=smtp, settings=settings)


@pytest.fixture()
def site(tmp_path, korero_index_dir, korero_index, embedder):
    with _site(tmp_path, korero_index_dir, korero_index, embedder, 0.2) as running:
        yield running


@pytest.fixture()
def idle_site(tmp_path, korero_index_dir, korero_index, embedder):
    """A worker that rescans every 10 minutes: only a wake-up sends mail in time."""
    with _site(tmp_path, korero_index_dir, korero_index, embedder, 600.0) as running:
        yield running


@pytest.fixture()
def page():
    with chromium() as browser:
        page = new_page(browser)
        yield page
        page.context.close()


def _open_chat(page, site, host_url: str):
    page.goto(host_url)
    page.locator("#policy-qa-widget button.launcher").click()
    chat = page.frame_locator("#policy-qa-widget iframe")
    chat.locator("#pqa-ask textarea").wait_for()
    return chat


def _mail_for(smtp: SmtpServer, esc_id: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for got in smtp.handler.received:
            if got.message["X-Policy-QA-Escalation"] == esc_id:
                return got
        time.sleep(0.1)
    pytest.fail(f"no mail for {esc_id}")


def test_the_mail_says_where_the_visitor_was_and_what_they_asked_before(site, page):
    with serve_page(host_page(site.url)) as host:
        host_url = host.rstrip("/") + "/pricing?token=s3cret#plans"
        chat = _open_chat(page, site, host_url)
        ask(chat, FIRST, 0)
        closest = ask(chat, UNANSWERED, 1)
        seen = [q.inner_text().strip("\u201c\u201d") for q in
                closest.locator("blockquote.pqa-quote > p:first-child").all()]
        chat.locator("#pqa-handoff-email input").fill("visitor@example.com")
        chat.locator("#pqa-handoff-send").click()
        sent = chat.locator(REPLY).nth(2)
        sent.wait_for()
        esc_id = re.search(r"reference (esc_[A-Za-z0-9_-]+)", sent.inner_text()).group(1)
    page_url = f"http://{urlsplit(host).netloc}/pricing"  # no query, no fragment
    stored = Outbox.from_settings(site.settings).get(esc_id)
    assert (stored.page_url, stored.conversation, stored.reason) == (
        page_url, (FIRST,), "unanswered")
    # the mail's "passages the visitor was shown" are the ones the chat showed
    assert [p.quote for p in stored.passages] == seen
    got = _mail_for(site.smtp, esc_id)
    assert got.mail_from == SENDER and got.message["From"] == SENDER
    assert got.message["Reply-To"] == "visitor@example.com"
    body = got.message.get_content().replace("\r\n", "\n")
    assert f"Page: {page_url}\n" in body and "s3cret" not in body
    assert f"Earlier in this conversation the visitor asked:\n  1. {FIRST}\n" in body
    assert f"  {PUBLIC}/console/?escalation={esc_id}\n" in body
    assert "score" not in body and "policy-qa outbox" not in body
    for value in got.message.values():
        assert "\r" not in value and "\n" not in value


def test_a_thumbs_down_hand_off_tells_the_officer_the_answer_was_unhelpful(site, page):
    with serve_page(host_page(site.url)) as host:
        chat = _open_chat(page, site, host)
        ask(chat, "How do you use cookies?", 0)
        ask(chat, FIRST, 1)
        chat.locator("#pqa-chat button[aria-label='Dislike']").last.click()
        chat.locator("#pqa-send-team").click()
        notice = chat.locator(REPLY).nth(2)
        notice.wait_for()
        esc_id = re.search(r"reference (esc_[A-Za-z0-9_-]+)", notice.inner_text()).group(1)
    outbox = Outbox.from_settings(site.settings)
    stored = outbox.get(esc_id)
    assert (stored.question, stored.reason, stored.conversation) == (
        FIRST, "unhelpful", ("How do you use cookies?",))
    # held for an e-mail address; deliver it as the worker will once the hold is over
    transport = SmtpTransport(site.smtp.host, site.smtp.port, timeout=5.0)
    deliver_due(outbox, transport, mail_from=SENDER, public_url=PUBLIC,
                now=time.time() + 3600, max_attempts=5, max_age_seconds=86400, base=1,
                cap=10)
    got = _mail_for(site.smtp, esc_id)
    assert got.message["Subject"].endswith(f"Unhelpful answer: {FIRST}")
    body = got.message.get_content().replace("\r\n", "\n")
    assert "The visitor found this answer unhelpful:\n1. " in body
    assert "good enough" not in body and "score" not in body


def test_a_new_question_closes_the_offer_to_add_an_email_to_an_earlier_hand_off(site, page):
    """Sent without an address, a hand-off offers to add one; a later question closes
    that offer, so an address typed under a later answer never goes with the earlier
    question (an audit typed one there after a thumbs-down, and it did)."""
    with serve_page(host_page(site.url)) as host:
        chat = _open_chat(page, site, host)
        ask(chat, UNANSWERED, 0)
        chat.locator("#pqa-handoff-send").click()
        sent = chat.locator(REPLY).nth(1)
        sent.wait_for()
        esc_id = re.search(r"reference (esc_[A-Za-z0-9_-]+)", sent.inner_text()).group(1)
        chat.locator("#pqa-email-box").wait_for(state="visible")
        ask(chat, FIRST, 2)
        chat.locator("#pqa-email-box").wait_for(state="hidden")
    assert Outbox.from_settings(site.settings).get(esc_id).email is None


def test_a_hand_off_from_the_chat_is_mailed_at_once(idle_site, page):
    """The chat's hand-offs wake the delivery worker as the API's do (widget audit,
    2026-12-08: three chat hand-offs reached the inbox 40-60 s late, at the worker's
    rescan); an address added after a hand-off sent without one ends its hold."""
    site = idle_site
    with serve_page(host_page(site.url)) as host:
        chat = _open_chat(page, site, host)
        ask(chat, UNANSWERED, 0)
        chat.locator("#pqa-handoff-send").click()  # no address: held for one
        held = chat.locator(REPLY).nth(1)
        held.wait_for()
        first = re.search(r"reference (esc_[A-Za-z0-9_-]+)", held.inner_text()).group(1)
        assert Outbox.from_settings(site.settings).get(first).status == "queued"
        chat.locator("#pqa-email input").fill("late@example.com")
        chat.locator("#pqa-email-send").click()
        got = _mail_for(site.smtp, first, seconds=10)
        assert got.message["Reply-To"] == "late@example.com"
        ask(chat, "Can I park my car at your office?", 3)
        chat.locator("#pqa-handoff-email input").fill("visitor@example.com")
        chat.locator("#pqa-handoff-send").click()
        sent = chat.locator(REPLY).nth(4)
        sent.wait_for()
        second = re.search(r"reference (esc_[A-Za-z0-9_-]+)", sent.inner_text()).group(1)
        got = _mail_for(site.smtp, second, seconds=10)
    assert got.message["Reply-To"] == "visitor@example.com"
