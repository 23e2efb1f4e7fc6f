"""The public chat in headless Chromium (Playwright from PyPI, the system's Chromium).

One app per module on loopback; a second loopback port serves examples/host-page.html
as a third-party site. Screenshots go to each test's tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from browser_kit import (
    ask,
    chromium,
    contrast,
    needs_chromium,
    new_page,
    offer_in_conversation,
    rgb,
)
from web_server import serve_app, serve_page

from qa.escalation.outbox import Outbox
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app

HOST_PAGE = Path(__file__).resolve().parent.parent / "examples" / "host-page.html"
ANSWERABLE = ("How do you use cookies?", "Do you sell my data?",
              "How can I delete my personal information?")
UNANSWERABLE = ("Can I bring my dog to your office?", "What is the capital of France?")
PAYLOAD = ("<img src=x onerror=\"window.__xss=1;alert('img')\"> "
           "<script>window.__xss=2;alert('script')</script> do you sell my data?")

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, korero_index_dir, korero_index, embedder):
    tmp = tmp_path_factory.mktemp("browser")
    settings = Settings(index=korero_index_dir, outbox=tmp / "outbox.sqlite3",
                        maildir=tmp / "maildir", analytics=tmp / "analytics.sqlite3",
                        requests_per_minute=1000, escalations_per_hour=1000,
                        deliver_interval_seconds=0.5)
    service = Service(settings, index=korero_index, embedder=embedder)
    answered = next((q for q in ANSWERABLE if service.ask(q).resolved), None)
    unanswered = next((q for q in UNANSWERABLE if service.ask(q).kind == "unresolved"), None)
    assert answered and unanswered, "the Korero index no longer answers the test questions"
    app = create_app(settings, service=service)
    with serve_app(app) as url:
        yield SimpleNamespace(url=url, app=app, service=service, settings=settings,
                              answered=answered, unanswered=unanswered)


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture()
def page(browser):
    page = new_page(browser)
    yield page
    page.context.close()




def test_chat_answers_with_a_quote_and_a_section_link(site, page, tmp_path):
    expected = site.service.ask(site.answered)
    page.goto(site.url + "/")
    reply = ask(page, site.answered)
    quote = reply.locator("blockquote.pqa-quote").first
    assert expected.passages[0].quote[:60] in quote.inner_text()
    link = quote.locator(".pqa-source a")
    top = expected.passages[0]
    assert link.inner_text() == top.section
    assert link.get_attribute("href") == top.url
    assert f"#{top.anchor}:~:text=" in link.get_attribute("href")
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")
    text = reply.inner_text()
    assert "score" not in text.lower()
    assert all(f"{p.score}" not in text for p in expected.passages)  # no bare scores
    page.screenshot(path=tmp_path / "chat-answer.png", full_page=True)


def test_unanswerable_question_is_handed_off_only_with_consent(site, page, tmp_path):
    """The offer says what is sent and kept before anything is; nothing is in the outbox
    until the visitor sends it; a bad address keeps the offer open; sent, the reply
    gives the reference and the visitor's own address."""
    outbox = Outbox.from_settings(site.settings)
    before = {e.id for e in outbox.list()}
    page.goto(site.url + "/")
    reply = ask(page, site.unanswered)
    assert "does not seem to cover this" in reply.inner_text()
    offer = offer_in_conversation(page, "pqa-handoff-box", reply)
    text = offer.inner_text()
    assert "Send your question to the privacy team?" in text
    assert "privacy@koreroapp.com" in text and "kept for 30 days" in text
    assert {e.id for e in outbox.list()} == before  # nothing sent yet
    page.screenshot(path=tmp_path / "chat-handoff-offer.png", full_page=True)

    email = page.locator("#pqa-handoff-email input")
    email.fill("not an address")
    page.locator("#pqa-handoff-send").click()
    note = page.locator("#pqa-handoff-note")
    note.get_by_text("That does not look like an e-mail address. Please check it").wait_for()
    assert note.get_attribute("role") == "status"  # announced by screen readers
    page.wait_for_timeout(300)  # chat.js brings it into the conversation's view
    _inside(note, page.locator("#pqa-chat [role='log']"))
    assert {e.id for e in outbox.list()} == before
    email.fill("visitor@example.com")
    page.locator("#pqa-handoff-send").click()
    sent = page.locator("#pqa-chat [data-testid='bot']").nth(1)
    sent.wait_for()
    esc_id = re.search(r"reference (esc_[A-Za-z0-9_-]+)", sent.inner_text()).group(1)
    assert "They will reply to visitor@example.com" in sent.inner_text()
    stored = outbox.get(esc_id)
    assert stored.question == site.unanswered and stored.email == "visitor@example.com"
    assert not offer.is_visible()
    _focus_back_on_the_question(page)
    page.screenshot(path=tmp_path / "chat-handoff-sent.png", full_page=True)


def _focus_back_on_the_question(page) -> None:
    """An offer that closed under the focus hands it to the question box, not to the
    page's start (widget audit, 2026-12-08: focus fell to <body>)."""
    page.wait_for_function("() => document.activeElement === "
                           "document.querySelector('#pqa-ask textarea')")


def test_a_declined_hand_off_sends_nothing(site, page):
    outbox = Outbox.from_settings(site.settings)
    before = {e.id for e in outbox.list()}
    page.goto(site.url + "/")
    ask(page, site.unanswered.rstrip("?") + ", really?")
    page.locator("#pqa-handoff-decline").focus()
    page.keyboard.press("Enter")
    page.get_by_text("nothing was sent").wait_for()
    assert {e.id for e in outbox.list()} == before
    _focus_back_on_the_question(page)


def test_a_hand_off_without_an_address_can_add_one_while_held(site, page):
    page.goto(site.url + "/")
    ask(page, site.unanswered.rstrip("?") + " at all?")
    page.locator("#pqa-handoff-send").click()
    sent = page.locator("#pqa-chat [data-testid='bot']").nth(1)
    sent.wait_for()
    esc_id = re.search(r"reference (esc_[A-Za-z0-9_-]+)", sent.inner_text()).group(1)
    offer_in_conversation(page, "pqa-email-box", sent)
    assert page.locator("#pqa-handoff-box").count() == 0  # the answered offer is gone
    email = page.locator("#pqa-email input")
    email.fill("late@example.com")
    page.locator("#pqa-email-send").click()
    page.get_by_text("The privacy team will reply to late@example.com").wait_for()
    assert Outbox.from_settings(site.settings).get(esc_id).email == "late@example.com"


def test_a_rights_request_is_offered_and_submitted_from_the_chat(site, page, tmp_path):
    from qa.rights.store import RequestStore

    page.goto(site.url + "/")
    reply = ask(page, "Please delete my account and all my data")
    assert "It sounds like you want to have your personal data deleted" in reply.inner_text()
    assert reply.locator("blockquote.pqa-quote").count() >= 1
    box = offer_in_conversation(page, "pqa-request-box", reply)
    assert "verify your identity" in box.inner_text()
    page.locator("#pqa-request-email input").fill("ana@example.com")
    page.locator("#pqa-request-submit").click()
    taken = page.locator("#pqa-chat [data-testid='bot']").nth(1)
    taken.wait_for()
    text = taken.inner_text()
    req_id = re.search(r"reference (req_[A-Za-z0-9_-]+)", text).group(1)
    assert "cannot verify, carry out or promise" in text
    stored = RequestStore.from_settings(site.settings).get(req_id)
    assert stored.kind == "deletion" and stored.email == "ana@example.com"
    assert stored.due in text
    page.screenshot(path=tmp_path / "chat-request.png", full_page=True)


def test_thumbs_down_offers_sending_to_the_privacy_team(site, page, tmp_path):
    page.goto(site.url + "/")
    answer = ask(page, site.answered)
    page.locator("#pqa-chat button[aria-label='Dislike']").last.click()
    offer_in_conversation(page, "pqa-dislike-box", answer)  # not added off-screen
    send = page.locator("#pqa-send-team")
    send.wait_for()
    send.click()
    notice = page.locator("#pqa-chat [data-testid='bot']").nth(1)
    notice.wait_for()
    esc_id = re.search(r"reference (esc_[A-Za-z0-9_-]+)", notice.inner_text()).group(1)
    assert Outbox.from_settings(site.settings).get(esc_id).question == site.answered
    site.app.state.recorder.flush()
    downs = site.app.state.analytics.thumbs_down()
    assert any(site.answered.lower() in str(row).lower() for row in downs)
    page.screenshot(path=tmp_path / "chat-thumbs-down.png", full_page=True)


def test_xss_payload_stays_text(site, page, tmp_path):
    page.goto(site.url + "/")
    ask(page, PAYLOAD)
    user = page.locator("#pqa-chat [data-testid='user']").last
    assert user.inner_text().strip() == PAYLOAD
    page.wait_for_timeout(500)
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.evaluate("window.__xss") is None
    assert page.locator("#pqa-chat img[src='x']").count() == 0
    page.screenshot(path=tmp_path / "chat-xss.png", full_page=True)


def test_widget_js_on_another_origin_opens_the_chat_and_answers(site, browser, tmp_path):
    html = HOST_PAGE.read_text(encoding="utf-8").replace("https://HOST", site.url)
    page = new_page(browser)
    with serve_page(html) as host_url:
        assert host_url.split(":")[2] != site.url.split(":")[2]  # another port: origin
        page.goto(host_url)
        launcher = page.locator("#policy-qa-widget button.launcher")
        assert launcher.get_attribute("aria-label")
        launcher.click()
        assert launcher.get_attribute("aria-expanded") == "true"
        frame_el = page.locator("#policy-qa-widget iframe")
        # the chat page, told which host page it is on (origin and path only)
        assert frame_el.get_attribute("src").startswith(site.url + "/?from_page=")
        frame = page.frame_locator("#policy-qa-widget iframe")
        reply = ask(frame, site.answered)
        reply.locator("blockquote.pqa-quote").first.wait_for()
        page.screenshot(path=tmp_path / "widget-host-page.png")
        frame.locator("#pqa-ask textarea").press("Escape")  # from inside the iframe
        page.wait_for_function(
            "() => !document.querySelector('#policy-qa-widget').shadowRoot"
            ".querySelector('.panel').classList.contains('open')")
        assert launcher.get_attribute("aria-expanded") == "false"
        launcher.click()
        page.keyboard.press("Escape")  # from the host page
        assert launcher.get_attribute("aria-expanded") == "false"
        assert page.evaluate("Object.keys(window).filter(k => k.startsWith('PolicyQA'))") == [
            "PolicyQAWidget"]
    page.context.close()


def _inside(item, view) -> None:
    box, frame = item.bounding_box(), view.bounding_box()
    assert box and frame
    assert frame["y"] - 1 <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame[
        "height"] + 1, (box, frame)


def test_the_page_is_named_for_screen_readers(site, page):
    """One h1; the question box is "Your question" (gradio alone names it "Textbox Ask")."""
    page.goto(site.url + "/")
    page.get_by_role("heading", level=1, name="Questions about the Privacy Policy?").wait_for()
    page.get_by_role("textbox", name="Your question", exact=True).wait_for()
    assert page.get_by_role("main").count() == 1


@pytest.mark.parametrize("size", [(1280, 900), (375, 700)])
def test_the_framed_chat_fits_its_frame(site, browser, size):
    """In the widget's frame the page itself never scrolls (only the conversation
    does); unframed on a phone, the question box is on the first screen."""
    width, height = size
    html = HOST_PAGE.read_text(encoding="utf-8").replace("https://HOST", site.url)
    page = new_page(browser, width=width, height=height)
    try:
        with serve_page(html) as host_url:
            page.goto(host_url)
            page.locator("#policy-qa-widget button.launcher").click()
            ask(page.frame_locator("#policy-qa-widget iframe"), site.unanswered)
            frame, = [f for f in page.frames if "from_page=" in f.url]
            frame.wait_for_timeout(300)
            sizes = frame.evaluate(
                "() => [document.documentElement.scrollHeight, window.innerHeight]")
            assert sizes[0] <= sizes[1], sizes
        page.goto(site.url + "/")
        box = page.locator("#pqa-ask textarea").bounding_box()
        assert box and box["y"] + box["height"] <= height, box
    finally:
        page.context.close()


TYPED = ["Do you track me on https://koreroapp.com/account/settings/notifications?"
         "utm_source=newsletter&utm_campaign=december_2026_privacy_update ?",
         "mail me at bob@example.com **now** $x^2$ [link](http://e.com) # h \\ `c` ~~s~~"]


def test_a_pasted_url_or_markup_shows_as_typed_and_fits_a_phone(site, browser):
    """The visitor's bubble shows their words: no link made of a URL or address (its
    Markdown escapes showed inside the link: "koreroapp\\.com"), no markup, no LaTeX;
    a long URL wraps instead of widening the chat (widget audit, 2026-12-08: 605px in a
    400px frame)."""
    page = new_page(browser, width=360, height=740)
    try:
        page.goto(site.url + "/")
        for n, typed in enumerate(TYPED):
            ask(page, typed, n)
            user = page.locator("#pqa-chat [data-testid='user']").nth(n)
            assert user.inner_text().strip() == typed
            assert user.locator("a, strong, em, code, del, h1, .katex").count() == 0
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, f"the chat is {width}px wide at a 360px viewport"
    finally:
        page.context.close()


def test_a_question_over_the_limit_stays_in_the_box_to_be_shortened(site, page):
    """It was cleared and answered "question is 1010 characters long": the visitor had
    to type it again (widget audit, 2026-12-08)."""
    page.goto(site.url + "/")
    long = "Please tell me, " + "in detail, " * 90 + "do you sell my data?"
    assert len(long) > 1000
    box = page.locator("#pqa-ask textarea")
    box.fill(long)
    box.press("Enter")
    notice = page.locator("#pqa-chat [data-testid='bot']").last
    notice.get_by_text("Please shorten it and ask again").wait_for()
    assert "the limit is 1000" in notice.inner_text()
    assert box.input_value() == long
    assert page.locator("#pqa-chat [data-testid='user']").count() == 0
    box.fill("Do you sell my data?")  # the notice goes with the next question
    box.press("Enter")
    page.wait_for_function(
        "() => { const c = document.querySelector('#pqa-chat');"
        " return c.querySelectorAll(\"[data-testid='user']\").length === 1"
        " && !c.innerText.includes('shorten') && !!c.querySelector('.pqa-answer'); }")


def test_phone_width_has_no_horizontal_scroll(site, browser, tmp_path):
    page = new_page(browser, width=375, height=740)
    page.goto(site.url + "/")
    reply = ask(page, site.answered)
    reply.locator("blockquote.pqa-quote").first.wait_for()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the chat is {width}px wide at a 375px viewport"
    page.screenshot(path=tmp_path / "chat-phone-375.png", full_page=True)

    html = HOST_PAGE.read_text(encoding="utf-8").replace("https://HOST", site.url)
    with serve_page(html) as host_url:
        page.goto(host_url)
        page.locator("#policy-qa-widget button.launcher").click()
        box = page.locator("#policy-qa-widget .panel").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        page.frame_locator("#policy-qa-widget iframe").locator("#pqa-ask textarea").wait_for()
        page.screenshot(path=tmp_path / "widget-phone-375.png")
    page.context.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_each_reply_is_in_view_from_its_first_line(site, browser, width):
    """After each reply the chat shows that reply's lead line (not its last quote),
    in a phone-sized and a desktop-sized window."""
    page = new_page(browser, width=width, height=640)
    try:
        page.goto(site.url + "/")
        for n, question in enumerate([site.answered, "How do you use cookies?",
                                      "Do you share my data with advertisers?"]):
            reply = ask(page, question, replies_before=n)
            page.wait_for_timeout(300)  # let the scroll settle
            lead = reply.locator(".pqa-answer p").first
            chat = page.locator("#pqa-chat [role='log'], #pqa-chat .bubble-wrap").first
            box, view = lead.bounding_box(), chat.bounding_box()
            assert box and view
            assert view["y"] - 1 <= box["y"] <= view["y"] + view["height"] - box["height"], \
                (question, box, view)
    finally:
        page.context.close()


def test_the_chat_shows_only_passages_near_the_best_one(site, page):
    from ui.web.chat.render import shown

    answer = site.service.ask(site.answered)
    page.goto(site.url + "/")
    reply = ask(page, site.answered)
    assert reply.locator("blockquote.pqa-quote").count() == len(
        shown(answer.passages, answer.question, resolved=answer.resolved))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_field_shows_where_the_focus_is(site, browser, scheme):
    """A 3px ring of at least 3:1 against the field (WCAG 2.4.7, 1.4.11) on the question
    box and the hand-off's e-mail field, in both themes (widget audit, 2026-12-08: the
    e-mail field had none, gradio's `outline: none` won; the dark ring was 2.2:1)."""
    page = new_page(browser, color_scheme=scheme)
    try:
        page.goto(site.url + "/")
        ask(page, site.unanswered)
        for field in ("#pqa-ask textarea", "#pqa-handoff-email input"):
            box = page.locator(field)
            box.focus()
            style = box.evaluate("t => { const s = getComputedStyle(t); return [s.outlineStyle,"
                                 " s.outlineWidth, s.outlineColor, s.backgroundColor]; }")
            assert style[:2] == ["solid", "3px"], (field, style)
            assert contrast(rgb(style[2]), rgb(style[3])) >= 3, (field, style)
    finally:
        page.context.close()
