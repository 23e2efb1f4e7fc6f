"""The console in headless Chromium: it asks for a login, then shows an escalated
question whose XSS payload renders as text (no <img> element, no dialog, no script
run), in the queue, the opened escalation and the analytics tab. Screenshots go to
the test's tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from web_server import serve_app

from qa.analytics import Analytics
from qa.escalation.outbox import Outbox
from ui.web.console.pages import mount_console

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAYLOAD = "<img src=x onerror=\"window.__xss=1;alert('xss')\"> do you sell my data to Acme?"
TIMEOUT = 30_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="needs /usr/bin/chromium (apt-get install chromium); never skipped in CI")




@pytest.fixture()
def console_url(make_service) -> Iterator[tuple[str, str]]:
    """(base URL, escalation id) of a console with one XSS escalation and analytics."""
    service = make_service(console_users="agent:correct-horse-battery")
    outbox = Outbox.from_settings(service.settings)
    esc = outbox.enqueue(PAYLOAD, to="privacy@example.com", email="asker@example.org")
    analytics = Analytics.from_settings(service.settings)
    for _ in range(2):
        analytics.record_answer(service.ask(PAYLOAD + " cat colour"), "198.51.100.7")
    app = FastAPI()
    mount_console(app, service, service.settings, analytics)
    with serve_app(app) as base:
        yield base, esc.id


@pytest.fixture()
def page(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        yield page
        context.close()
        browser.close()


def _assert_text_only(page) -> None:
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []


def _sign_in(page, base: str, tmp_path: Path) -> None:
    page.goto(base + "/console/")
    assert page.url == base + "/console/login"
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

    page.get_by_role("button", name="Sign out").click()
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
