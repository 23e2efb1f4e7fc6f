"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
Playwright from PyPI (no browser is ever downloaded), and the chat steps they share.

Browser tests skip only when Chromium is absent *and* CI is unset; CI installs it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT = 30_000  # ms, for every locator wait
SKIP_REASON = "needs /usr/bin/chromium (apt-get install chromium); never skipped in CI"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                    reason=SKIP_REASON)
# a bot message that is a reply, not the typing indicator it replaces
REPLY = "#pqa-chat [data-testid='bot']:not(:has(.pqa-typing))"


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser, closed afterwards."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, width: int = 1100, height: int = 900, **options: Any) -> Any:
    """A page in a context of its own (closed with `page.context.close()`) that records
    dialogs (dismissed) and page errors in `page.dialogs` and `page.errors`."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def ask(scope: Any, question: str, replies_before: int = 0) -> Any:
    """Type a question in the chat (a page or a frame) and wait for the bot's reply
    number `replies_before` (0: the first reply of the conversation)."""
    box = scope.locator("#pqa-ask textarea")
    box.fill(question)
    box.press("Enter")
    reply = scope.locator(REPLY).nth(replies_before)
    reply.wait_for()
    return reply


def offer_in_conversation(scope: Any, box_id: str, reply: Any) -> Any:
    """The offer `box_id` (hand-off, request, late e-mail, thumbs-down) as chat.js shows
    it: the only element with that id, inside the conversation log, after `reply` (the
    message that offers it), and within the chat's visible area. Returns its locator."""
    box = scope.locator(f"#{box_id}")
    box.wait_for()
    scope.locator(f"#pqa-chat [role='log'] #{box_id}").wait_for()
    assert scope.locator(f"[id='{box_id}']").count() == 1  # no duplicated id
    offered, said = box.bounding_box(), reply.bounding_box()
    assert offered and said and offered["y"] >= said["y"] + said["height"] - 1, (offered, said)
    chat = scope.locator("#pqa-chat").bounding_box()
    assert chat and offered["y"] < chat["y"] + chat["height"], (offered, chat)  # in view
    return box


def rgb(text: str) -> tuple[int, int, int]:
    r, g, b = (int(float(x)) for x in re.findall(r"[\d.]+", text)[:3])
    return r, g, b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def lum(c: tuple[int, int, int]) -> float:
        lin = [(v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
               for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
