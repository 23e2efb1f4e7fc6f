"""The console as deployed: the whole app (create_app, with its security middleware
and CSP) in headless Chromium. Every tab renders with no CSP violation and no gradio
"Error rendering" box, and the Sign out link signs out. (The other console browser
tests mount the console alone, without the CSP.)"""

from __future__ import annotations

from pathlib import Path

import test_console_browser as browser
from browser_kit import needs_chromium
from web_server import serve_app

from ui.web.app import create_app

page = browser.page  # the headless Chromium fixture of the console browser test

pytestmark = needs_chromium


def test_every_console_tab_renders_under_the_csp_and_sign_out_works(
        make_service, page, tmp_path: Path) -> None:
    service = make_service(console_users="agent:correct-horse-battery")
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    with serve_app(create_app(service.settings, service=service, start_worker=False)) as base:
        page.goto(base + "/console/")
        page.get_by_label("Name").fill("agent")
        page.get_by_label("Password").fill("correct-horse-battery")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/console/")
        for tab in ("Escalations", "Requests", "Ask as a visitor", "Index status",
                    "Analytics"):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(300)
            assert page.get_by_text("Error rendering").count() == 0, tab
        page.screenshot(path=tmp_path / "console-analytics-csp.png")
        assert violations == []
        page.locator("#logout").click()
        page.wait_for_url(base + "/console/login")
        page.goto(base + "/console/")
        assert page.url == base + "/console/login"  # the session is gone
