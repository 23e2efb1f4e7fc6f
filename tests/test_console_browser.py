"""The console in headless Chromium: it asks for a login, then shows an escalated
question whose XSS payload renders as text (no <img> element, no dialog, no script
run), in the queue, the opened escalation and the analytics tab. Screenshots go to
the test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_kit import TIMEOUT, chromium, needs_chromium, new_page
from fastapi import FastAPI
from web_server import serve_app

from qa.analytics import Analytics
from qa.escalation.outbox import Outbox
from qa.rights.store import RequestStore
from qa.service import Service
from ui.web.console.pages import mount_console

PAYLOAD = "<img src=x onerror=\"window.__xss=1;alert('xss')\"> do you sell my data to Acme?"

pytestmark = needs_chromium




@pytest.fixture()
def console_url(make_service, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL, escalation id) of a console with one XSS escalation and analytics."""
    service = make_service(console_users="agent:correct-horse-battery")
    outbox = Outbox.from_settings(service.settings)
    esc = outbox.enqueue(PAYLOAD, to="privacy@example.com", email="asker@example.org")
    analytics = Analytics.from_settings(service.settings)
    for _ in range(2):
        analytics.record_answer(service.ask(PAYLOAD + " cat colour"), "198.51.100.7")
    app = FastAPI()
    mount_console(app, service, service.settings, analytics, cache=tmp_path / "console")
    with serve_app(app) as base:
        yield base, esc.id


@pytest.fixture()
def page():
    with chromium() as browser:
        page = new_page(browser, 1280, 1000)
        yield page
        page.context.close()


def _assert_landmarks(page, title: str) -> None:
    """One h1 naming the page and one main landmark (screen-reader navigation)."""
    page.get_by_role("heading", level=1, name=title).wait_for()
    assert page.locator("h1").count() == 1
    assert page.get_by_role("main").count() == 1


def _assert_text_only(page) -> None:
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []


def _sign_in(page, base: str, tmp_path: Path) -> None:
    page.goto(base + "/console/")
    assert page.url == base + "/console/login"
    _assert_landmarks(page, "policy-qa console: sign in")
    page.get_by_label("Name").fill("agent")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong name or password.").wait_for()
    page.screenshot(path=tmp_path / "console-login.png")
    page.get_by_label("Name").fill("agent")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/console/")


def test_console_asks_for_login_then_shows_the_escalation_as_text(
        console_url: tuple[str, str], page, tmp_path: Path) -> None:
    base, esc_id = console_url
    _sign_in(page, base, tmp_path)
    _assert_landmarks(page, "policy-qa support console")
    cookie, = [c for c in page.context.cookies() if c["name"] == "policy_qa_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"

    table = page.locator("#queue-table")
    table.get_by_text(PAYLOAD, exact=True).filter(visible=True).first.wait_for()
    table.get_by_text(esc_id).filter(visible=True).first.wait_for()
    _assert_text_only(page)
    page.screenshot(path=tmp_path / "console-queue.png", full_page=True)

    table.get_by_text(PAYLOAD, exact=True).filter(visible=True).first.click()
    question = page.locator("#esc-question textarea")
    page.wait_for_function("() => document.querySelector('#esc-question textarea')?.value",
                           timeout=TIMEOUT)
    assert question.input_value() == PAYLOAD
    assert page.locator("#esc-id textarea, #esc-id input").first.input_value() == esc_id
    _assert_text_only(page)
    page.screenshot(path=tmp_path / "console-escalation.png", full_page=True)

    page.get_by_role("tab", name="Analytics").click()
    top = page.locator("#top-unresolved")
    top.get_by_text(PAYLOAD + " cat colour", exact=True).filter(visible=True).first.wait_for()
    _assert_text_only(page)
    page.screenshot(path=tmp_path / "console-analytics.png", full_page=True)

    page.get_by_role("tab", name="Ask as a visitor").click()
    page.locator("#diag-question textarea").fill("Do you sell my data?")
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#diag-verdict textarea')?.value.startsWith('RESOLVED')",
        timeout=TIMEOUT)
    page.get_by_text("when-would-we-share-your-information").first.wait_for()
    page.screenshot(path=tmp_path / "console-diagnostics.png", full_page=True)

    page.locator("#logout").get_by_text("Sign out").click()  # a link button (no gr.HTML: CSP)
    page.wait_for_url(base + "/console/login")
    page.goto(base + "/console/")
    assert page.url == base + "/console/login"


def test_console_without_login_never_renders(console_url: tuple[str, str], page) -> None:
    base, _ = console_url
    page.goto(base + "/console/?__theme=dark")
    assert page.url == base + "/console/login"
    assert page.locator("gradio-app").count() == 0
    response = page.request.get(base + "/console/config")
    assert response.status == 401


# --- the inbox as an agent works it (issue 17) ----------------------------------------

AXE = Path(__file__).resolve().parent / "data" / "axe.min.js"


def _axe(page) -> list[dict]:
    """Serious and critical axe-core violations on the page once gradio has settled
    (a pending component is greyed out on purpose while it loads)."""
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('.pending, .generating')",
                           timeout=TIMEOUT)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || ''))
                          .slice(0, 3)}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture()
def inbox_url(make_service, tmp_path: Path) -> Iterator[tuple[str, Outbox, list[str]]]:
    service = make_service(console_users="agent:correct-horse-battery,sam:another-long-pass")
    outbox = Outbox.from_settings(service.settings)
    ids = [outbox.enqueue(q, to="privacy@example.com", email=f"v{n}@example.org",
                          page_url="https://koreroapp.com/pricing",
                          conversation=["Do you sell my data?"],
                          passages=[{"section": "Sharing", "anchor": "sharing", "url": "",
                                     "quote": "Korero does not sell your data.",
                                     "score": 0.3}]).id
           for n, q in enumerate(("Do you keep my voice notes?", "Is my data kept in the EU?",
                                  "Where is my data stored?", "Who is your DPO?"))]
    app = FastAPI()
    mount_console(app, service, service.settings, Analytics.from_settings(service.settings),
                  cache=tmp_path / "console")
    with serve_app(app) as base:
        yield base, outbox, ids


def _counts(page) -> str:
    return page.locator("#queue-counts").inner_text()


def test_an_agent_filters_assigns_resolves_in_bulk_exports_and_sees_the_trail(
        inbox_url, page, tmp_path: Path) -> None:
    base, outbox, ids = inbox_url
    _sign_in(page, base, tmp_path)
    page.wait_for_function("() => document.querySelector('#queue-counts')?.innerText"
                           ".includes('4 of 4 escalations match')", timeout=TIMEOUT)
    bad = _axe(page)
    assert bad == [], bad

    # the counts follow the filter
    page.locator("#f-text input, #f-text textarea").first.fill("data")
    page.locator("#f-text input, #f-text textarea").first.press("Enter")
    page.wait_for_function("() => document.querySelector('#queue-counts').innerText"
                           ".includes('2 of 2 escalations match')", timeout=TIMEOUT)
    page.locator("#f-text input, #f-text textarea").first.fill("")
    page.locator("#f-text input, #f-text textarea").first.press("Enter")
    page.wait_for_function("() => document.querySelector('#queue-counts').innerText"
                           ".includes('4 of 4')", timeout=TIMEOUT)

    # open one: the page, the earlier question, the reply link; assign it to sam
    page.locator("#queue-table").get_by_text("Who is your DPO?", exact=True).first.click()
    page.wait_for_function("() => document.querySelector('#esc-question textarea')?.value"
                           " === 'Who is your DPO?'", timeout=TIMEOUT)
    assert page.locator("#esc-page textarea, #esc-page input").first.input_value() == \
        "https://koreroapp.com/pricing"
    href = page.locator("#esc-reply-link").get_attribute("href")
    assert href.startswith("mailto:v3@example.org?subject=Re%3A%20Who%20is%20your%20DPO%3F")
    assert page.locator("#esc-resend").is_hidden()  # queued: no resend offered
    page.locator("#esc-assignee input").click()
    page.get_by_role("option", name="sam").click()
    page.locator("#esc-assign").click()
    page.wait_for_function("() => document.querySelector('#esc-message textarea')?.value"
                           ".endsWith('assigned to sam.')", timeout=TIMEOUT)
    history = page.locator("#esc-history")
    history.get_by_text("assigned", exact=True).filter(visible=True).first.wait_for()
    history.get_by_text("agent", exact=True).filter(visible=True).first.wait_for()  # who did it
    assert outbox.get(ids[3]).assignee == "sam"

    # resolve it: the note and section are cleared for the next item
    page.locator("#esc-note textarea").fill("Our DPO is named in section 9.")
    page.locator("#esc-resolve").click()
    page.wait_for_function("() => document.querySelector('#esc-message textarea')?.value"
                           ".endsWith('marked resolved.')", timeout=TIMEOUT)
    page.wait_for_function("() => document.querySelector('#esc-note textarea') === null"
                           " || document.querySelector('#esc-note textarea').value === ''",
                           timeout=TIMEOUT)
    history.get_by_text("resolved", exact=True).filter(visible=True).first.wait_for()
    page.locator("#esc-reopen").wait_for()  # resolved: reopen offered, resolve not
    assert page.locator("#esc-resolve").is_hidden()
    page.wait_for_function("() => document.querySelector('#queue-counts').innerText"
                           ".includes('3 of 4 escalations match')", timeout=TIMEOUT)
    page.screenshot(path=tmp_path / "console-inbox-item.png", full_page=True)
    bad = _axe(page)
    assert bad == [], bad

    # bulk: resolve two of the open ones
    page.get_by_text("Resolve several").click()
    pick = page.locator("#bulk-pick")
    pick.get_by_label(f"{ids[0]} · Do you keep my voice notes?").check()
    pick.get_by_label(f"{ids[1]} · Is my data kept in the EU?").check()
    page.locator("#bulk-note textarea").fill("Answered in the new FAQ.")
    page.locator("#bulk-resolve").click()
    page.wait_for_function("() => document.querySelector('#bulk-result textarea')?.value"
                           ".startsWith('2 escalation(s) resolved')", timeout=TIMEOUT)
    page.wait_for_function("() => document.querySelector('#queue-counts').innerText"
                           ".includes('1 of 4 escalations match')", timeout=TIMEOUT)
    assert [outbox.get(i).status for i in ids] == ["resolved", "resolved", "queued", "resolved"]
    assert [(e.actor, e.action) for e in outbox.events(ids[0])] == [("agent", "resolved")]

    # CSV of the filtered list (status: all)
    page.locator("#f-status input").click()
    page.get_by_role("option", name="all", exact=True).click()
    page.wait_for_function("() => document.querySelector('#queue-counts').innerText"
                           ".includes('4 of 4')", timeout=TIMEOUT)
    # typed but not applied: the export is the list on screen (console audit, 2026-12-08)
    page.locator("#f-text input, #f-text textarea").first.fill("no such words")
    page.locator("#queue-export").click()
    link = page.locator("#queue-export-file a").first
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("id,created,status,reason,assignee")
    assert len(lines) == 5 and sum(",resolved," in line for line in lines[1:]) == 3
    assert "Our DPO is named in section 9." in text

    # the index-status table shows every row (not cut off)
    page.get_by_role("tab", name="Index status").click()
    table = page.locator("#index-table")
    table.get_by_text("escalations resolved", exact=True).filter(visible=True).first.wait_for()
    page.screenshot(path=tmp_path / "console-index-status.png", full_page=True)
    clipped = page.evaluate("""() => [...document.querySelectorAll('#index-table *')]
        .filter(e => e.clientHeight > 0 && e.scrollHeight > e.clientHeight + 2 &&
                     ['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowY))
        .map(e => e.tagName + ' ' + e.textContent.slice(0, 40))""")
    assert clipped == []  # no scroll box inside the table: every row is on the page
    last = table.get_by_text("escalations resolved", exact=True).filter(visible=True).first
    box, outer = last.bounding_box(), table.bounding_box()
    assert box and outer and box["y"] + box["height"] <= outer["y"] + outer["height"]
    bad = _axe(page)
    assert bad == [], bad


# --- one item's form never follows the agent to the next (console audit, 2026-12-08) ---

def _value(page, selector: str, expected: str) -> None:
    page.wait_for_function(
        "([s, v]) => document.querySelector(s)?.value === v", arg=[selector, expected],
        timeout=TIMEOUT)


def _open(page, field: str, button: str, ident: str) -> None:
    page.locator(f"{field} textarea, {field} input").first.fill(ident)
    page.locator(button).click()


def test_a_note_typed_for_one_item_is_never_saved_on_the_next(make_service, page,
                                                              tmp_path: Path) -> None:
    """A reason typed on one rights request (its change refused) and a resolution note
    typed on one escalation stayed in the form when the agent opened the next item, and
    the stale reason went into that request's permanent history."""
    plain = make_service(console_users="agent:correct-horse-battery")
    outbox = Outbox.from_settings(plain.settings)
    service = Service(plain.settings, index=plain.index, embedder=plain.embedder,
                      outbox=outbox, requests=RequestStore.from_settings(plain.settings))
    first, second = (outbox.enqueue(q, to="privacy@example.com").id
                     for q in ("Can I bring my dog?", "Where do you park?"))
    req_a, req_b = (service.submit_request(m, email=f"{n}@example.org", jurisdiction="eu_uk",
                                           kind="access").request.id
                    for n, m in (("ana", "Send me my data"), ("bo", "I want a copy of my data")))
    app = FastAPI()
    mount_console(app, service, service.settings, Analytics.from_settings(service.settings),
                  cache=tmp_path / "console")
    with serve_app(app) as base:
        _sign_in(page, base, tmp_path)
        page.locator("#queue-table").get_by_text("Where do you park?").first.wait_for()
        page.wait_for_timeout(500)  # the page's load events (the mail's deep link) settle
        page.wait_for_function("() => !document.querySelector('.pending, .generating')",
                               timeout=TIMEOUT)
        _open(page, "#esc-id", "#esc-open", first)
        _value(page, "#esc-question textarea", "Can I bring my dog?")
        page.locator("#esc-note textarea").fill("Dogs are welcome")
        _open(page, "#esc-id", "#esc-open", second)
        _value(page, "#esc-question textarea", "Where do you park?")
        _value(page, "#esc-note textarea", "")

        page.get_by_role("tab", name="Requests").click()
        _open(page, "#req-id", "#req-open", req_a)
        _value(page, "#req-message textarea", "Send me my data")
        page.locator("#req-reason textarea, #req-reason input").first.fill("still complex")
        page.locator("#req-note textarea").fill("asked for more time")
        page.locator("#req-move").click()  # no state picked: refused, the form kept
        _value(page, "#req-result textarea, #req-result input", "pick the new state first")
        _value(page, "#req-note textarea", "asked for more time")
        _open(page, "#req-id", "#req-open", req_b)
        _value(page, "#req-message textarea", "I want a copy of my data")
        _value(page, "#req-note textarea", "")
        page.wait_for_function("() => [...document.querySelectorAll('#req-reason textarea,"
                               " #req-reason input')].every(e => e.value === '')")
        # the request's mail links to /console/?request=ID: the Requests tab, that request
        page.goto(f"{base}/console/?request={req_a}")
        _value(page, "#req-message textarea", "Send me my data")
        assert page.get_by_role("tab", name="Requests").get_attribute(
            "aria-selected") == "true"
    assert not any(e.reason for e in service.requests.history(req_b))
