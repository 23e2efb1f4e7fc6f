"""The chat page's craft in headless Chromium (Playwright, the system's Chromium), at
375 and 1280 px: the question echoed at once with a typing indicator (no gradio timer),
a direct lead, copy as plain text with the link, the conversation kept per tab across
a reload (not in a new tab) and cleared by "New conversation", greeting and suggested
questions from the URL, and axe-core with 0 serious or critical violations."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from browser_kit import TIMEOUT, chromium, needs_chromium
from web_server import serve_app, serve_page

from qa.escalation.outbox import Outbox
from qa.rights.store import RequestStore
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app

AXE = Path(__file__).resolve().parent / "data" / "axe.min.js"
WIDTHS = [375, 1280]
SELL = "Do you sell my data?"
STORAGE_KEY = "policy-qa-conversation"

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


class SlowService(Service):
    """The real service, answering only after `delay` seconds (so the echo and the
    typing indicator can be seen before the answer)."""

    delay = 0.0

    def ask_many(self, questions):
        time.sleep(self.delay)
        return super().ask_many(questions)


@pytest.fixture(scope="module")
def site(tmp_path_factory, korero_index_dir, korero_index, embedder):
    tmp = tmp_path_factory.mktemp("chat-browser")
    settings = Settings(index=korero_index_dir, outbox=tmp / "outbox.sqlite3",
                        maildir=tmp / "maildir", analytics=tmp / "analytics.sqlite3",
                        requests_per_minute=1000)
    service = SlowService(settings, index=korero_index, embedder=embedder,  # used as is
                          outbox=Outbox.from_settings(settings),
                          requests=RequestStore.from_settings(settings))
    app = create_app(settings, service=service, start_worker=False)
    assert app.state.service is service
    with serve_app(app) as url:
        yield SimpleNamespace(url=url, service=service)


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture()
def context(browser, site, request):
    width = getattr(request, "param", 1280)
    context = browser.new_context(viewport={"width": width, "height": 740})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    context.set_default_timeout(TIMEOUT)
    yield context
    context.close()


def chat(context, url: str, path: str = "/"):
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url + path)
    page.locator("#pqa-ask textarea").wait_for()
    return page


def ask(page, question: str, n: int):
    box = page.locator("#pqa-ask textarea")
    box.fill(question)
    box.press("Enter")
    reply = page.locator("#pqa-chat .pqa-answer").nth(n)
    reply.wait_for()
    return reply


def user_messages(page) -> list[str]:
    return [t.strip() for t in page.locator("#pqa-chat [data-testid='user']").all_inner_texts()]


@pytest.mark.parametrize("context", WIDTHS, indirect=True)
def test_the_question_is_echoed_at_once_with_a_typing_indicator(site, context, tmp_path):
    page = chat(context, site.url)
    site.service.delay = 5.0
    try:
        started = time.monotonic()
        page.locator("#pqa-ask textarea").fill(SELL)
        page.locator("#pqa-ask textarea").press("Enter")
        typing = page.locator("#pqa-chat .pqa-typing")
        typing.wait_for(state="visible", timeout=3500)
        assert time.monotonic() - started < 3.5  # long before the 5 s answer
        assert user_messages(page) == [SELL]
        assert "Looking this up in the privacy policy" in typing.inner_text()
        assert page.locator("#pqa-chat .pqa-answer").count() == 0
        assert "processing" not in page.locator("#pqa-chat").inner_text().lower()
        page.screenshot(path=tmp_path / f"chat-typing-{page.viewport_size['width']}.png")
    finally:
        site.service.delay = 0.0
    reply = page.locator("#pqa-chat .pqa-answer").first
    reply.wait_for()
    assert page.locator("#pqa-chat .pqa-typing").count() == 0  # replaced by the answer
    lead = reply.locator("p").first
    assert lead.inner_text() == "No \u2014 in the policy's own words:"  # the quote follows
    assert reply.locator("blockquote.pqa-quote p").first.inner_text().startswith(
        "\u201cKorero does not sell")
    box, view = lead.bounding_box(), page.locator("#pqa-chat [role='log']").bounding_box()
    assert box and view
    assert view["y"] - 1 <= box["y"] <= view["y"] + view["height"] - box["height"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_question_the_server_is_slow_to_take_is_said_to_be_on_its_way(site, context):
    """Until the server echoes the question the page showed nothing at all: a slow or
    unreachable server looked like a dead chat (widget audit, 2026-12-08). The
    server's intake is held here, as a busy server would hold it."""
    page = chat(context, site.url)
    held = []
    page.route("**/gradio_api/queue/join*", lambda route: held.append(route))
    page.locator("#pqa-ask textarea").fill(SELL)
    page.locator("#pqa-ask textarea").press("Enter")
    note = page.locator("#pqa-wait")
    note.get_by_text("Sending your question").wait_for(timeout=5000)
    assert note.get_attribute("role") == "status" and user_messages(page) == []
    for route in held:
        route.continue_()
    page.unroute("**/gradio_api/queue/join*")
    page.locator("#pqa-chat .pqa-answer").first.wait_for()
    assert note.inner_text().strip() == ""  # said no more once the question is taken
    assert user_messages(page) == [SELL]


@pytest.mark.parametrize("context", WIDTHS, indirect=True)
def test_copy_gives_the_quote_and_its_link_as_plain_text(site, context):
    page = chat(context, site.url)
    reply = ask(page, SELL, 0)
    link = reply.locator(".pqa-source a").first
    href, section = link.get_attribute("href"), link.inner_text()
    quote = reply.locator("blockquote.pqa-quote p").first.inner_text()
    page.locator("#pqa-chat button[aria-label='Copy message']").last.click()
    page.wait_for_function("() => document.querySelector('#pqa-chat [data-copied]')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("No \u2014 in the policy's own words:\n\n\u201cKorero does not sell")
    assert quote in copied and f"\u2014 {section}: {href}" in copied
    assert "<" not in copied and "pqa-" not in copied  # no HTML
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("context", WIDTHS, indirect=True)
def test_the_conversation_survives_a_reload_in_its_tab_only(site, context, tmp_path):
    page = chat(context, site.url)
    ask(page, SELL, 0)
    ask(page, "Do you use cookies?", 1)
    # chat.js copies the server's token into sessionStorage on its next 150 ms tick
    page.wait_for_function("k => (sessionStorage.getItem(k) || '').length >= 32",
                           arg=STORAGE_KEY, timeout=10_000)
    token = page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')")
    assert token and len(token) >= 32
    page.reload()
    page.locator("#pqa-chat .pqa-answer").nth(1).wait_for()
    assert user_messages(page) == [SELL, "Do you use cookies?"]
    page.screenshot(path=tmp_path / "chat-after-reload.png")
    ask(page, "How do I delete my account?", 2)  # the restored conversation goes on
    assert len(user_messages(page)) == 3

    other = chat(context, site.url)  # a new tab: its own sessionStorage, a new chat
    other.wait_for_timeout(1500)
    assert user_messages(other) == []
    assert other.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')") is None

    new = page.get_by_role("button", name="New conversation")
    assert new.is_visible()
    assert page.locator("#pqa-chat button[aria-label='Clear']").is_hidden()
    new.click()
    page.wait_for_function("() => !document.querySelector('#pqa-chat .message-row')")
    page.wait_for_function(f"() => sessionStorage.getItem('{STORAGE_KEY}') === null")
    page.reload()
    page.locator("#pqa-ask textarea").wait_for()
    page.wait_for_timeout(1500)
    assert user_messages(page) == []


def test_a_forged_token_restores_nothing(site, context):
    page = chat(context, site.url)
    page.evaluate(f"sessionStorage.setItem('{STORAGE_KEY}', 'A'.repeat(43))")
    page.reload()
    page.locator("#pqa-ask textarea").wait_for()
    page.wait_for_timeout(1500)
    assert user_messages(page) == []
    ask(page, SELL, 0)  # and the chat works, under a token of its own
    page.wait_for_function(f"() => sessionStorage.getItem('{STORAGE_KEY}') !== 'A'.repeat(43)")


TEXTS = ("/?greeting=Kia+ora%21+%3Cb%3Ehi%3C%2Fb%3E"
         "&suggest=Do+you+use+cookies%3F%7CDo+you+sell+my+data%3F&from_page=x")


def test_the_framed_page_reads_its_greeting_and_suggestions_from_the_url(site, context):
    host = context.new_page()
    with serve_page(f'<iframe id="f" src="{site.url}{TEXTS}" title="chat" '
                    'style="width:420px;height:640px"></iframe>') as host_url:
        host.goto(host_url)
        page = host.frame_locator("#f")
        placeholder = page.locator("#pqa-chat .placeholder")
        placeholder.get_by_text("Kia ora! <b>hi</b>").wait_for()  # escaped, not markup
        assert page.locator("#pqa-chat .placeholder b").count() == 0
        examples = page.locator("#pqa-chat button.example")
        examples.nth(1).wait_for()
        assert examples.all_inner_texts() == ["Do you use cookies?", "Do you sell my data?"]
        examples.nth(1).click()
        page.locator("#pqa-chat .pqa-answer").first.wait_for()
        assert [t.strip() for t in page.locator("#pqa-chat [data-testid='user']")
                .all_inner_texts()] == [SELL]


def test_a_link_to_the_page_itself_cannot_put_words_in_the_assistants_mouth(site, context):
    """Opened directly (a phishing link: "your session expired, reply with your
    password"), the page drops `greeting` and `suggest` and keeps the rest (audit)."""
    page = chat(context, site.url, TEXTS)
    assert page.url == site.url + "/?from_page=x"
    page.locator("#pqa-chat .placeholder").get_by_text("Hello!").wait_for()
    assert "Kia ora" not in page.locator("#pqa-chat").inner_text()
    assert page.locator("#pqa-chat button.example").count() == 0


@pytest.mark.parametrize("context", WIDTHS, indirect=True)
def test_axe_finds_no_serious_violation_in_a_conversation(site, context):
    page = chat(context, site.url)
    ask(page, SELL, 0)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(bad, indent=1)


def test_the_gradio_api_still_answers_in_one_call(site):
    import httpx

    with httpx.Client(base_url=site.url, timeout=30) as http:
        names = set(http.get("/gradio_api/info").json()["named_endpoints"])
    assert "/ask" in names and not {"/echo", "/answer_pending", "/restore"} & names
