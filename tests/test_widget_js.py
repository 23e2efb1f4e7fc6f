"""The embed loader (ui/web/static/widget.js) and the offline API docs (ui/web/docs.py).

The loader runs in headless Chromium (Playwright from PyPI, the system's Chromium) on a
"third-party" host page served from a second loopback port, loading widget.js and the
chat from the real app on another: its data-* options, hostile values staying text,
the keyboard (Escape, focus return, the full-screen focus loop at 375px), reduced
motion, and an axe-core audit of the host page with the panel open (0 serious or
critical violations; axe-core 4.14.1, MPL-2.0, vendored in tests/data/axe.min.js).

/docs renders Swagger UI with every request to anything but 127.0.0.1 aborted, under the
app's Content-Security-Policy, with no console error: on a small app of its own and on
the real one.
"""

from __future__ import annotations

import html
import json
import re
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from browser_kit import REPLY, TIMEOUT, ask, chromium, contrast, rgb
from fastapi import FastAPI
from playwright.sync_api import Error as PlaywrightError
from pydantic import BaseModel, Field
from web_server import serve_app, serve_page

from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app
from ui.web.docs import ASSET_FILES, mount_docs, openapi_30
from ui.web.security import CHAT_CSP, SecurityMiddleware

AXE = Path(__file__).resolve().parent / "data" / "axe.min.js"
ACME = {"data-color": "#0a7d33", "data-title": "Ask ACME", "data-position": "bottom-left",
        "data-greeting": "Hi",
        "data-suggestions": "Do you sell my data?|How do I delete my account?"}
PAYLOAD = "<img src=x onerror=\"window.__xss=1;alert(1)\">"
DEFAULT_ACCENT = "rgb(37, 99, 235)"  # #2563eb
SHADOW = "document.querySelector('#policy-qa-widget').shadowRoot"
FOCUSED = f"() => {{ const a = {SHADOW}.activeElement; return a ? a.className || a.tagName : " \
          "(document.activeElement || document.body).tagName; }"

browser_test = pytest.mark.browser


# --- servers and browser -------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory, korero_index_dir, korero_index, embedder):
    """The real app (create_app) on loopback."""
    tmp = tmp_path_factory.mktemp("widget")
    settings = Settings(index=korero_index_dir, outbox=tmp / "outbox.sqlite3",
                        maildir=tmp / "maildir", analytics=tmp / "analytics.sqlite3",
                        requests_per_minute=1000)
    service = Service(settings, index=korero_index, embedder=embedder)
    app = create_app(settings, service=service, start_worker=False)
    with serve_app(app) as url:
        yield SimpleNamespace(url=url, app=app)


class Item(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"name": "mug", "size": 2}]}}
    name: str = Field(examples=["mug"])
    size: int = Field(gt=0, lt=100)
    kind: Literal["item"] = "item"
    note: str | None = None


class Box(BaseModel):
    items: list[Item]
    parent: Item | None = None
    label: str | int | None = None


def docs_app() -> FastAPI:
    """A small app with mount_docs, FastAPI's own /docs off, and the app's CSP layer."""
    app = FastAPI(title="Docs test API", version="9.9", docs_url=None, redoc_url=None)

    @app.post("/api/boxes", summary="Make a box")
    def make_box(box: Box) -> Box:
        return box

    mount_docs(app)
    app.add_middleware(SecurityMiddleware)
    return app


@pytest.fixture(scope="module")
def docs_url():
    with serve_app(docs_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture()
def new_page(browser):
    """new_page(width, height, reduced_motion=None) -> a page recording dialogs, console
    errors and page errors; every context is closed after the test."""
    contexts = []

    def make(width: int = 1100, height: int = 800, reduced_motion: str | None = None):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      reduced_motion=reduced_motion)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.dialogs, page.errors = [], []  # type: ignore[attr-defined]
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()


def host_page(app_url: str, attrs: dict[str, str]) -> str:
    """A third-party page: a link, then the loader with `attrs` (escaped as HTML)."""
    options = "".join(f' {name}="{html.escape(value, quote=True)}"'
                      for name, value in attrs.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ACME Inc. - a site embedding the chat</title></head>
<body><main><h1>ACME Inc.</h1>
<p>Read our <a id="before" href="#privacy">privacy policy</a>.</p></main>
<script src="{app_url}/widget.js"{options} defer></script>
</body></html>"""


def shadow(page, expression: str):
    """Evaluate `expression` with `root` bound to the widget's shadow root."""
    return page.evaluate(f"() => {{ const root = {SHADOW}; return {expression}; }}")


def load_host(page, app_url: str, host_url: str) -> None:
    page.goto(host_url)
    page.locator("#policy-qa-widget button.launcher").wait_for()
    assert app_url not in host_url


def chat_loaded(page) -> None:
    page.frame_locator("#policy-qa-widget iframe").locator("#pqa-ask textarea").wait_for()


def tab_to_launcher(page, limit: int = 10) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == "launcher" or page.evaluate(FOCUSED).startswith(
                "launcher "):
            return
    raise AssertionError("Tab never reached the launcher")


# --- widget.js -----------------------------------------------------------------------

@browser_test
def test_data_attributes_theme_and_configure_the_widget(site, new_page, tmp_path):
    page = new_page()
    with serve_page(host_page(site.url, ACME)) as host_url:
        load_host(page, site.url, host_url)
        launcher = page.locator("#policy-qa-widget button.launcher")
        assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == \
            "rgb(10, 125, 51)"
        assert launcher.get_attribute("aria-expanded") == "false"
        assert "Ask ACME" in launcher.get_attribute("aria-label")
        box = launcher.bounding_box()
        assert box is not None and box["x"] == 20  # bottom-left
        assert shadow(page, "root.querySelector('iframe')") is None  # loads on first open

        launcher.click()
        assert launcher.get_attribute("aria-expanded") == "true"
        title = page.locator("#policy-qa-widget .title")
        assert title.inner_text() == "Ask ACME"
        bar = page.locator("#policy-qa-widget .bar")
        assert bar.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(10, 125, 51)"
        assert contrast(rgb(bar.evaluate("b => getComputedStyle(b).color")),
                        (10, 125, 51)) >= 4.5
        panel = page.locator("#policy-qa-widget .panel")
        assert panel.get_attribute("role") == "dialog"
        assert shadow(page, "root.querySelector('.panel').getAttribute('aria-labelledby')") \
            == "policy-qa-title"
        panel_box = panel.bounding_box()
        assert panel_box is not None and panel_box["x"] == 20

        frame = page.locator("#policy-qa-widget iframe")
        src = frame.get_attribute("src")
        parts = urlsplit(src)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == site.url + "/"
        query = parse_qs(parts.query)
        page_url = urlsplit(query.pop("from_page")[0])  # the host page, for the privacy team
        assert (page_url.netloc, page_url.query) == (urlsplit(host_url).netloc, "")
        assert query == {
            "greeting": ["Hi"], "suggest": ["Do you sell my data?|How do I delete my account?"]}
        assert "suggest=Do+you+sell+my+data%3F%7CHow+do+I" in src  # URL-encoded
        assert frame.get_attribute("allow") == "clipboard-write"
        assert frame.get_attribute("title") == "Ask ACME"
        chat_loaded(page)
        assert page.evaluate("Object.keys(window).filter(k => /policy.?qa/i.test(k))") == [
            "PolicyQAWidget"]
        assert page.evaluate("Object.keys(window.PolicyQAWidget).sort()") == [
            "close", "open", "origin", "toggle"]
        page.evaluate("window.PolicyQAWidget.close()")
        assert launcher.get_attribute("aria-expanded") == "false"
        page.evaluate("window.PolicyQAWidget.open()")
        assert launcher.get_attribute("aria-expanded") == "true"
        page.wait_for_timeout(300)  # the opening animation
        page.screenshot(path=tmp_path / "widget-acme.png")
        assert page.errors == []  # type: ignore[attr-defined]


@browser_test
def test_without_options_the_widget_keeps_its_defaults(site, new_page):
    page = new_page()
    with serve_page(host_page(site.url, {})) as host_url:
        load_host(page, site.url, host_url)
        launcher = page.locator("#policy-qa-widget button.launcher")
        assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == DEFAULT_ACCENT
        box = launcher.bounding_box()
        assert box is not None and box["x"] + box["width"] == 1100 - 20  # bottom-right
        launcher.click()
        assert page.locator("#policy-qa-widget .title").inner_text() == \
            "Privacy policy assistant"
        src = urlsplit(page.locator("#policy-qa-widget iframe").get_attribute("src"))
        assert f"{src.scheme}://{src.netloc}{src.path}" == site.url + "/"
        assert set(parse_qs(src.query)) == {"from_page"}  # no greeting or suggestions


@browser_test
def test_hostile_data_values_stay_text(site, new_page):
    attrs = {"data-title": PAYLOAD, "data-color": "red;background:url(http://evil.example/x)",
             "data-position": "top-left<script>", "data-greeting": "<script>alert(2)</script>",
             "data-suggestions": f"{PAYLOAD}| |\"'&"}
    page = new_page()
    with serve_page(host_page(site.url, attrs)) as host_url:
        load_host(page, site.url, host_url)
        launcher = page.locator("#policy-qa-widget button.launcher")
        launcher.click()
        assert page.locator("#policy-qa-widget .title").inner_text() == PAYLOAD
        assert shadow(page, "root.querySelectorAll('img, script').length") == 0
        assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == DEFAULT_ACCENT
        assert shadow(page, "[...root.adoptedStyleSheets[0].cssRules].map(r => r.cssText)"
                            ".join(' ').includes('evil')") is False
        box = launcher.bounding_box()
        assert box is not None and box["x"] > 500  # unknown position: bottom-right
        query = parse_qs(urlsplit(page.locator("#policy-qa-widget iframe")
                                  .get_attribute("src")).query)
        query.pop("from_page")
        assert query == {"greeting": ["<script>alert(2)</script>"],
                         "suggest": [f"{PAYLOAD}|\"'&"]}
        page.wait_for_timeout(300)
        assert page.dialogs == []  # type: ignore[attr-defined]
        assert page.evaluate("window.__xss") is None


@browser_test
@pytest.mark.parametrize(("color", "shown"), [
    ("#0a7d33", "rgb(10, 125, 51)"), ("#0A7", "rgb(0, 170, 119)"),
    ("#0a7d33cc", "rgb(10, 125, 51)"), ("rgb(10, 125, 51)", "rgb(10, 125, 51)"),
    ("rgba(10,125,51,.5)", "rgb(10, 125, 51)"), ("rgb(10 125 51 / 50%)", "rgb(10, 125, 51)"),
    ("rgb(100%, 0%, 0%)", "rgb(255, 0, 0)"), ("#ffeb3b", "rgb(255, 235, 59)"),
    ("rgb(300, 0, 0)", DEFAULT_ACCENT), ("green", DEFAULT_ACCENT), ("#12345", DEFAULT_ACCENT),
    ("var(--x)", DEFAULT_ACCENT), ("#fff}.launcher{display:none", DEFAULT_ACCENT),
])
def test_data_color_accepts_hex_and_rgb_only(site, new_page, color, shown):
    page = new_page()
    with serve_page(host_page(site.url, {"data-color": color})) as host_url:
        load_host(page, site.url, host_url)
        launcher = page.locator("#policy-qa-widget button.launcher")
        assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == shown
        ink = rgb(launcher.evaluate("b => getComputedStyle(b).color"))
        assert contrast(ink, rgb(shown)) >= 4.5  # white, or near-black on a light accent


@browser_test
def test_the_panel_says_the_chat_is_loading_until_it_has(site, new_page):
    """A slow or unreachable server left a blank white panel (widget audit,
    2026-12-08); the chat page is held here as a slow server would hold it."""
    page = new_page()
    held = []
    page.route(re.compile(re.escape(site.url) + r"/\?"), lambda route: held.append(route))
    with serve_page(host_page(site.url, {})) as host_url:
        load_host(page, site.url, host_url)
        page.locator("#policy-qa-widget button.launcher").click()
        loading = page.locator("#policy-qa-widget .loading")
        loading.get_by_text("Loading the chat").wait_for()
        assert loading.get_attribute("role") == "status"
        page.wait_for_timeout(300)
        for route in held:
            route.continue_()
        page.unroute(re.compile(re.escape(site.url) + r"/\?"))
        chat_loaded(page)
        loading.wait_for(state="detached")


@browser_test
def test_data_open_starts_open_without_taking_focus(site, new_page):
    page = new_page()
    with serve_page(host_page(site.url, {"data-open": "true"})) as host_url:
        load_host(page, site.url, host_url)
        launcher = page.locator("#policy-qa-widget button.launcher")
        page.wait_for_function(f"() => {SHADOW}.querySelector('.panel.open')")
        assert launcher.get_attribute("aria-expanded") == "true"
        chat_loaded(page)
        assert page.evaluate("document.activeElement.tagName") == "BODY"


@browser_test
def test_the_chat_comes_back_by_itself_after_a_server_restart(new_page, tmp_path,
                                                             korero_index_dir, korero_index,
                                                             embedder):
    """A visitor asks while the server is down; once it is back (a new process, so a new
    app id) the framed chat reloads itself and answers, without the host page being
    reloaded (widget audit, 2026-12-08: it stayed on "Attempting reconnection" for good,
    since the guard answered the page's `app_id` poll with 404)."""
    settings = Settings(index=korero_index_dir, outbox=tmp_path / "outbox.sqlite3",
                        maildir=tmp_path / "maildir", analytics=tmp_path / "a.sqlite3",
                        requests_per_minute=1000)

    def app() -> FastAPI:
        service = Service(settings, index=korero_index, embedder=embedder)
        return create_app(settings, service=service, start_worker=False)

    with socket.socket() as probe:  # a free port, used by both servers in turn
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    page = new_page()
    frame = page.frame_locator("#policy-qa-widget iframe")
    with serve_page(host_page(url, {})) as host_url:
        with serve_app(app(), port=port):
            load_host(page, url, host_url)
            page.locator("#policy-qa-widget button.launcher").click()
            chat_loaded(page)
            assert "sell" in ask(frame, "Do you sell my data?").inner_text()
            inner = page.locator("#policy-qa-widget iframe").element_handle().content_frame()
            inner.evaluate("() => { window.__before = 1; }")
            page.evaluate("() => { window.__host = 1; }")
        box = frame.locator("#pqa-ask textarea")
        box.fill("Is my data encrypted?")
        box.press("Enter")  # the server is gone
        page.wait_for_timeout(1500)
        with serve_app(app(), port=port):
            deadline = time.monotonic() + 30  # gradio polls every 2 s, then reloads
            while not _reloaded(inner):
                assert time.monotonic() < deadline, "the chat never came back by itself"
                time.sleep(0.25)
            before = frame.locator(REPLY).count()
            assert "sell" in ask(frame, "Do you sell my data?", before).inner_text()
        assert page.evaluate("() => window.__host") == 1  # the host page was not reloaded


def _reloaded(frame) -> bool:
    try:
        return frame.evaluate("() => window.__before === undefined"
                              " && !!document.querySelector('#pqa-ask textarea')")
    except PlaywrightError:  # the frame is between two documents
        return False


@browser_test
def test_keyboard_opens_closes_and_returns_focus(site, new_page):
    page = new_page()
    with serve_page(host_page(site.url, ACME)) as host_url:
        load_host(page, site.url, host_url)
        launcher = page.locator("#policy-qa-widget button.launcher")
        tab_to_launcher(page)
        shadows = launcher.evaluate("b => getComputedStyle(b).boxShadow")
        rings = [rgb(c) for c in re.findall(r"rgba?\([^)]*\)", shadows)[:2]]
        assert rings == [(255, 255, 255), (17, 17, 17)]  # two-tone focus ring
        assert contrast(*rings) >= 9  # so one of them is >= 3:1 on any background

        page.keyboard.press("Enter")
        assert launcher.get_attribute("aria-expanded") == "true"
        assert page.evaluate(FOCUSED) == "close"
        close = page.locator("#policy-qa-widget button.close")
        ring = rgb(close.evaluate("b => getComputedStyle(b).outlineColor"))
        assert close.evaluate("b => getComputedStyle(b).outlineStyle") == "solid"
        assert contrast(ring, (10, 125, 51)) >= 3
        assert shadow(page, "root.querySelector('.panel').hasAttribute('aria-modal')") is False

        page.keyboard.press("Escape")
        assert launcher.get_attribute("aria-expanded") == "false"
        assert page.evaluate(FOCUSED).startswith("launcher")
        assert not page.locator("#policy-qa-widget .panel").is_visible()

        page.keyboard.press("Enter")  # again, and close with the close button
        assert page.evaluate(FOCUSED) == "close"
        page.keyboard.press("Enter")
        assert launcher.get_attribute("aria-expanded") == "false"
        assert page.evaluate(FOCUSED).startswith("launcher")


@browser_test
def test_phone_width_is_full_screen_and_traps_focus(site, new_page, tmp_path):
    page = new_page(375, 740)
    with serve_page(host_page(site.url, ACME)) as host_url:
        load_host(page, site.url, host_url)
        tab_to_launcher(page)
        page.keyboard.press("Enter")
        chat_loaded(page)
        box = page.locator("#policy-qa-widget .panel").bounding_box()
        assert box == {"x": 0, "y": 0, "width": 375, "height": 740}
        assert shadow(page, "root.querySelector('.panel').getAttribute('aria-modal')") == "true"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        page.screenshot(path=tmp_path / "widget-phone-375.png")

        assert page.evaluate(FOCUSED) == "close"
        seen = []
        for _ in range(80):  # forwards: close -> the chat's controls -> close again
            page.keyboard.press("Tab")
            seen.append(page.evaluate(FOCUSED))
            if seen[-1] == "close":
                break
        assert seen[-1] == "close", seen
        assert set(seen) <= {"IFRAME", "close"}, seen  # never the launcher or the page
        assert "IFRAME" in seen

        page.keyboard.press("Shift+Tab")  # backwards from the close button: into the chat
        assert page.evaluate(FOCUSED) == "IFRAME"
        for _ in range(80):
            page.keyboard.press("Shift+Tab")
            if page.evaluate(FOCUSED) != "IFRAME":
                break
        assert page.evaluate(FOCUSED) == "close"

        page.keyboard.press("Escape")
        assert page.evaluate(FOCUSED).startswith("launcher")
        assert shadow(page, "root.querySelector('.panel').hasAttribute('aria-modal')") is False


@browser_test
@pytest.mark.parametrize(("width", "height"), [(640, 400), (320, 256)])
def test_a_short_window_keeps_the_question_field_in_view(site, new_page, width, height):
    """A 1280 x 800 screen at 200% zoom is 640 x 400 CSS pixels (WCAG 1.4.10 asks for
    320 x 256): the panel takes the window and the question field stays inside the
    frame, before and after an answer (widget audit, 2026-12-08: it sat below it)."""
    page = new_page(width, height)
    with serve_page(host_page(site.url, {})) as host_url:
        load_host(page, site.url, host_url)
        page.locator("#policy-qa-widget button.launcher").click()
        chat_loaded(page)
        panel = page.locator("#policy-qa-widget .panel").bounding_box()
        assert panel == {"x": 0, "y": 0, "width": width, "height": height}
        frame = page.locator("#policy-qa-widget iframe").bounding_box()
        chat = page.frame_locator("#policy-qa-widget iframe")
        for n in range(2):
            field = chat.locator("#pqa-ask textarea").bounding_box()
            assert frame["y"] <= field["y"] and (field["y"] + field["height"]
                                                 <= frame["y"] + frame["height"]), (n, field)
            if n == 0:
                ask(chat, "Do you sell my data?")


@browser_test
def test_no_motion_under_prefers_reduced_motion(site, new_page):
    for motion, animation, transition in (("no-preference", "pqa-in", "0.15s"),
                                          ("reduce", "none", "0s")):
        page = new_page(reduced_motion=motion)
        with serve_page(host_page(site.url, ACME)) as host_url:
            load_host(page, site.url, host_url)
            launcher = page.locator("#policy-qa-widget button.launcher")
            assert launcher.evaluate("b => getComputedStyle(b).transitionDuration") == transition
            launcher.click()
            panel = page.locator("#policy-qa-widget .panel")
            assert panel.evaluate("p => getComputedStyle(p).animationName") == animation


@browser_test
@pytest.mark.parametrize(("width", "height"), [(1100, 800), (375, 740)])
def test_axe_finds_no_serious_violation_with_the_panel_open(site, new_page, width, height):
    page = new_page(width, height)
    with serve_page(host_page(site.url, ACME)) as host_url:
        load_host(page, site.url, host_url)
        page.locator("#policy-qa-widget button.launcher").click()
        chat_loaded(page)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {iframes: false, resultTypes: ['violations']});
            return {version: axe.version, passes: r.passes.length,
                    violations: r.violations.map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))};
        }""")
    assert result["version"].startswith("4.")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(bad, indent=1)
    assert result["passes"] > 5


# --- /docs ---------------------------------------------------------------------------

@browser_test
def test_a_strict_content_security_policy_on_the_host_page_keeps_the_widget(site, new_page):
    """A host page allowing the app's origin in script-src and frame-src only (no inline
    styles anywhere): the widget keeps its look (a <style> element would be refused)."""
    csp = (f"default-src 'self'; script-src 'self' {site.url}; frame-src {site.url}; "
           "style-src 'self'")
    page = new_page()
    strict = host_page(site.url, {}).replace(
        "<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{csp}">')
    with serve_page(strict) as host_url:
        load_host(page, site.url, host_url)
        launcher = page.locator("#policy-qa-widget button.launcher").bounding_box()
        assert launcher is not None and round(launcher["width"]) == 56
        assert shadow(page, "getComputedStyle(root.querySelector('.panel')).position") \
            == "fixed"
        page.locator("#policy-qa-widget button.launcher").click()
        panel = page.locator("#policy-qa-widget .panel").bounding_box()
        assert panel is not None and round(panel["width"]) == 400 and panel["height"] > 500
        chat_loaded(page)
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors


@browser_test
def test_the_host_pages_own_css_does_not_reach_the_widget(site, new_page):
    """Rules a host page aims at every div or child of body, !important included, lose
    to the widget's: its element is not rotated, faded or squeezed."""
    page = new_page()
    hostile = host_page(site.url, {}).replace(
        "</head>", "<style>div { transform: rotate(2deg); opacity: .5 !important; "
        "filter: blur(2px) !important } body > * { max-width: 200px !important; "
        "position: relative !important }</style></head>")
    with serve_page(hostile) as host_url:
        load_host(page, site.url, host_url)
        look = page.evaluate("() => { const s = getComputedStyle(document.querySelector("
                             "'#policy-qa-widget')); return [s.transform, s.opacity, "
                             "s.filter, s.maxWidth]; }")
        assert look == ["none", "1", "none", "none"], look
        page.locator("#policy-qa-widget button.launcher").click()
        panel = page.locator("#policy-qa-widget .panel").bounding_box()
        assert panel is not None and panel["x"] + panel["width"] <= 1100 and panel["x"] > 0


def test_docs_serve_only_the_swagger_ui_assets_they_use(docs_url):
    with httpx.Client(base_url=docs_url, timeout=30) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CHAT_CSP
        for url in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css",
                    "/docs/openapi.json"):
            assert url in page.text
        assert "http://" not in page.text and "https://" not in page.text  # no CDN
        assert "<title>Docs test API - API docs</title>" in page.text
        js = client.get("/docs/assets/swagger-ui-bundle.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert "SwaggerUIBundle" in js.text
        assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith(
            "text/css")
        assert client.get("/docs/assets/favicon-32x32.png").status_code == 200
        assert "swagger-initializer.js" not in ASSET_FILES
        for hidden in ("index.html", "swagger-initializer.js", "oauth2-redirect.html", "",
                       "../__init__.py", "%2e%2e/__init__.py"):
            assert client.get(f"/docs/assets/{hidden}").status_code == 404, hidden
        spec = client.get("/openapi.json").json()
        view = client.get("/docs/openapi.json").json()
        assert spec["openapi"].startswith("3.1") and view["openapi"] == "3.0.3"
        assert set(view["paths"]) == set(spec["paths"]) == {"/api/boxes"}
        assert "/docs" not in spec["paths"] and "/docs/openapi.json" not in spec["paths"]


def test_openapi_30_rewrites_json_schema_2020_constructs():
    spec = docs_app().openapi()
    before = json.dumps(spec)
    view = openapi_30(spec)
    assert json.dumps(spec) == before  # the app's own document is untouched
    text = json.dumps(view)
    assert '"type": "null"' not in text and '"const"' not in text
    schemas = view["components"]["schemas"]
    item, box = schemas["Item"]["properties"], schemas["Box"]["properties"]
    assert item["note"]["type"] == "string" and item["note"]["nullable"] is True
    assert "anyOf" not in item["note"]
    assert item["kind"]["enum"] == ["item"]
    assert item["name"]["example"] == "mug" and "examples" not in item["name"]
    assert schemas["Item"]["example"] == {"name": "mug", "size": 2}
    assert item["size"]["minimum"] == 0 and item["size"]["exclusiveMinimum"] is True
    assert item["size"]["maximum"] == 100 and item["size"]["exclusiveMaximum"] is True
    assert box["parent"]["allOf"] == [{"$ref": "#/components/schemas/Item"}]
    assert box["parent"]["nullable"] is True and "$ref" not in box["parent"]
    assert box["items"]["items"] == {"$ref": "#/components/schemas/Item"}
    assert box["label"]["nullable"] is True
    assert box["label"]["anyOf"] == [{"type": "string"}, {"type": "integer"}]
    assert openapi_30({"openapi": "3.1.0", "info": {"title": "t", "version": "1",
                       "summary": "s", "license": {"name": "MIT", "identifier": "MIT"}},
                       "paths": {}, "webhooks": {}})["info"] == {
        "title": "t", "version": "1", "license": {"name": "MIT"}}
    assert openapi_30({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {
        "T": {"type": ["string", "null"]}, "U": {"type": ["string", "integer"]}}}})[
        "components"]["schemas"] == {"T": {"type": "string", "nullable": True},
                                     "U": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}


def render_docs(page, url: str, title: str, operation: str) -> None:
    """Open /docs with every non-loopback request aborted; Swagger UI shows `title` and
    the `operation` path; nothing was blocked and the console stayed clean."""
    blocked: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(url + "/docs")
    page.locator(".swagger-ui .info .title").get_by_text(title).wait_for()
    page.locator(".swagger-ui .opblock-summary-path", has_text=operation).first.wait_for()
    assert page.locator(".swagger-ui").count() >= 1
    assert page.get_by_text("Unable to render this definition").count() == 0
    page.wait_for_timeout(300)
    assert blocked == []
    assert page.errors == []  # type: ignore[attr-defined]  (CSP violations land here too)


@browser_test
def test_docs_render_offline_under_the_csp(docs_url, new_page, tmp_path):
    page = new_page()
    render_docs(page, docs_url, "Docs test API", "/api/boxes")
    page.locator(".swagger-ui .opblock-summary").first.click()  # expand the operation
    page.locator(".swagger-ui .opblock-body").first.wait_for()
    page.screenshot(path=tmp_path / "docs.png", full_page=True)


@browser_test
def test_real_app_docs_render_offline(site, new_page, tmp_path):
    """Passes once ui/web/app.py uses mount_docs (FastAPI's own /docs loads a CDN)."""
    page = new_page()
    render_docs(page, site.url, "policy-qa", "/api/ask")
    page.screenshot(path=tmp_path / "docs-real-app.png", full_page=True)
