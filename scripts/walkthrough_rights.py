"""A walk-through of one privacy rights request, from the chat to "done", on real parts.

It builds the bundled Korero index into a temporary data folder, starts a recording
SMTP server (aiosmtpd, tests/smtp_server.py) and `policy-qa serve` on free loopback
ports, with a console user whose password is given only as a pbkdf2 hash in
POLICY_QA_CONSOLE_USERS. Headless Chromium then plays the visitor (the chat at 1280 px
and 375 px: the request, the policy's quote and the offer, the form, the reference) and
the privacy team (the mail in the inbox; the console's Requests tab: the queue with the
due date, received -> identity_check -> in_progress -> done with notes, the history;
the analytics page). Screenshots go to docs/walkthrough/rights-NN-<what>.png; one line
per screenshot is printed (for the issue's closing note).

    .venv/bin/python scripts/walkthrough_rights.py [--out docs/walkthrough] [--keep]

Needs /usr/bin/chromium and the `test` extra (playwright, aiosmtpd). Exit 1 with the
reason when a step does not happen as described.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from smtp_server import SmtpServer  # noqa: E402  (tests/ is not a package)

from qa.rights.store import RequestStore  # noqa: E402
from qa.settings import Settings  # noqa: E402
from ui.web.console.auth import hash_password  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
MESSAGE = "Please delete my account and all the data you hold about me"
EMAIL = "ana.visitor@example.org"
DETAILS = "My account name is ana.visitor; I signed up with this address in 2024."
AGENT, PASSWORD = "sam", "walk-through-" + os.urandom(6).hex()
MOVES = (("identity_check", "Asked the requester to confirm from the account's address."),
         ("in_progress", "Identity confirmed by reply from the account's address."),
         ("done", "Account and its data deleted; confirmation e-mailed to the requester."))
WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 375, "height": 812}
TIMEOUT = 60_000


class WalkError(Exception):
    """A step did not happen as the walk-through describes."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data: Path, port: int, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               TOKENIZERS_PARALLELISM="false",
               POLICY_QA_INDEX=str(data / "index"), POLICY_QA_OUTBOX=str(data / "outbox.sqlite3"),
               POLICY_QA_MAILDIR=str(data / "maildir"),
               POLICY_QA_ANALYTICS=str(data / "analytics.sqlite3"),
               POLICY_QA_PORT=str(port), POLICY_QA_SMTP_HOST="127.0.0.1",
               POLICY_QA_SMTP_PORT=str(smtp_port), POLICY_QA_MAIL_FROM="assistant@koreroapp.com",
               POLICY_QA_DELIVER_INTERVAL_SECONDS="0.5",
               POLICY_QA_CONSOLE_USERS=f"{AGENT}:{hash_password(PASSWORD)}")
    return env


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen:
    cli = str(Path(sys.executable).with_name("policy-qa"))
    build = subprocess.run([cli, "build"], env=env, capture_output=True, text=True,
                           timeout=300)
    if build.returncode != 0:
        raise WalkError(f"policy-qa build failed: {build.stderr.strip()[-300:]}")
    return subprocess.Popen([cli, "serve"], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def wait_healthy(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise WalkError(f"policy-qa serve exited with code {server.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise WalkError(f"policy-qa serve was not healthy within {seconds:.0f} s")


class Shots:
    """Numbered screenshots and their one-line descriptions."""

    def __init__(self, out: Path) -> None:
        self.out, self.count = out, 0
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("rights-*.png"):
            old.unlink()

    def take(self, page, what: str, line: str, **options) -> None:
        self.count += 1
        path = self.out / f"rights-{self.count:02d}-{what}.png"
        page.screenshot(path=path, **options)
        small(path)
        width = page.viewport_size["width"]
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
              f"({width} px): {line}", flush=True)


def small(path: Path) -> None:
    """Re-save a screenshot with a 128-colour palette (UI text stays crisp; about a
    third of the size)."""
    from PIL import Image

    with Image.open(path) as shot:
        palette = shot.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.NONE)
    palette.save(path, optimize=True)


def pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()
    page.locator("[role=listbox]").wait_for(state="hidden")
    page.wait_for_timeout(400)  # the list's fade-out, so no screenshot catches it


def chat(page, base: str, shots: Shots) -> tuple[str, str]:
    """The visitor's side; returns (request id, due date) as the chat told them."""
    page.goto(base + "/")
    box = page.locator("#pqa-ask textarea")
    box.fill(MESSAGE)
    box.press("Enter")
    reply = page.locator("#pqa-chat [data-testid='bot']").first
    reply.wait_for()
    offer = page.locator("#pqa-request-box").first
    offer.wait_for()
    text = reply.inner_text()
    if "deleted" not in text or reply.locator("blockquote.pqa-quote").count() < 1:
        raise WalkError(f"the reply is not the deletion answer with a quote: {text[:200]!r}")
    section = reply.locator("a").first.inner_text()
    reply.scroll_into_view_if_needed()
    shots.take(page, "chat-quote",
               f'the visitor typed "{MESSAGE}"; the reply, from its first line, names the '
               f'right (deletion) and quotes the policy with a link to "{section}"')
    if not page.locator("#pqa-chat [role='log'] #pqa-request-box").count():
        raise WalkError("the request offer is not inside the conversation")
    offer.scroll_into_view_if_needed()
    shots.take(page, "chat-offer-in-conversation",
               "scrolled on in the chat: right after the reply, inside the conversation, the "
               "offer says what goes to the privacy team, who verify identity and reply by "
               "e-mail")
    page.set_viewport_size(PHONE)
    offer.scroll_into_view_if_needed()
    if page.evaluate("() => document.documentElement.scrollWidth") > PHONE["width"]:
        raise WalkError("the chat scrolls sideways at 375 px")
    shots.take(page, "chat-offer-phone", "the same reply and offer at phone width, "
               "no horizontal scrolling")
    page.set_viewport_size(WIDE)

    page.locator("#pqa-request-email input").fill(EMAIL)
    pick(page, "pqa-request-where", "EU / UK")
    page.locator("#pqa-request-details textarea").fill(DETAILS)
    page.locator("#pqa-request-submit").scroll_into_view_if_needed()
    shots.take(page, "chat-form-filled", f"the form filled in: e-mail {EMAIL} (required), "
               "where you live EU / UK, details for the team; nothing is sent before "
               "'Submit my request'")
    page.locator("#pqa-request-submit").click()
    taken = page.locator("#pqa-chat [data-testid='bot']").nth(1)
    taken.wait_for()
    text = taken.inner_text()
    found = re.search(r"reference (req_[A-Za-z0-9_-]+).*respond is (\d{4}-\d\d-\d\d)", text,
                      re.S)
    if not found or "cannot verify, carry out or promise" not in text:
        raise WalkError(f"no reference number and honest next steps in: {text[:300]!r}")
    req_id, due = found.groups()
    taken.scroll_into_view_if_needed()
    shots.take(page, "chat-submitted", f"submitted: reference {req_id}; the team will "
               f"verify identity and reply to {EMAIL} by {due} (GDPR: one month); the "
               "assistant says it cannot verify, carry out or promise the outcome itself")
    page.set_viewport_size(PHONE)
    taken.scroll_into_view_if_needed()
    shots.take(page, "chat-submitted-phone", f"the reference {req_id} and due date {due} "
               "at phone width")
    return req_id, due


def wait_mail(smtp: SmtpServer, req_id: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mine = [r for r in smtp.handler.received if req_id in r.data.decode("utf-8", "replace")]
        if mine:
            time.sleep(2)  # a few more delivery passes: still one
            again = [r for r in smtp.handler.received
                     if req_id in r.data.decode("utf-8", "replace")]
            if len(again) != 1:
                raise WalkError(f"the inbox got {len(again)} e-mails for {req_id}")
            return again[0].message
        time.sleep(0.2)
    raise WalkError(f"no e-mail for {req_id} reached the SMTP server in {seconds:.0f} s")


def show_mail(page, mail) -> None:
    """The received mail, headers then body, rendered as a page for a screenshot."""
    headers = "\n".join(f"{name}: {mail[name]}" for name in
                        ("From", "To", "Reply-To", "Subject", "Date", "Message-ID"))
    page.set_content(
        "<!doctype html><meta charset=utf-8><title>privacy inbox</title>"
        "<body style='font:14px/1.45 monospace;margin:24px;color:#111'>"
        "<h1 style='font:600 18px sans-serif'>What the privacy inbox received (SMTP)</h1>"
        f"<pre style='background:#f3f4f6;padding:12px'>{html.escape(headers)}</pre>"
        f"<pre style='white-space:pre-wrap'>{html.escape(mail.get_content())}</pre></body>")


def inbox(page, mail, req_id: str, due: str, shots: Shots) -> str:
    body = mail.get_content()
    due_line = next((line for line in body.splitlines() if line.startswith("Due:")), "")
    if (mail["Reply-To"] != EMAIL or due not in mail["Subject"] or due not in due_line
            or "NOT VERIFIED" not in body or req_id not in mail["Message-ID"]):
        raise WalkError(f"the mail lacks Reply-To {EMAIL}, the due date {due}, the "
                        f"identity warning or the id in its Message-ID:\n{mail}")
    print(f"  mail To: {mail['To']}", flush=True)
    print(f"  mail Subject: {mail['Subject']}", flush=True)
    print(f"  mail Reply-To: {mail['Reply-To']}", flush=True)
    print(f"  mail Message-ID: {mail['Message-ID']}", flush=True)
    print(f"  mail {due_line}", flush=True)
    page.set_viewport_size(WIDE)
    show_mail(page, mail)
    shots.take(page, "inbox-mail", f"the e-mail the SMTP server received for {req_id}: "
               f"subject \"{mail['Subject']}\", Reply-To {mail['Reply-To']}, "
               f"\"{due_line}\", identity NOT VERIFIED, the quoted passage")
    return due_line


def grid(page, elem_id: str) -> list[list[str]]:
    return page.evaluate(f"""() => [...document.querySelectorAll('#{elem_id} .virtual-row')]
        .map(r => [...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))""")


def sign_in(page, base: str) -> None:
    page.goto(base + "/console/")
    page.get_by_label("Name").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/console/")


def console(page, base: str, req_id: str, due: str, shots: Shots) -> None:
    """The privacy team's side: queue, open, three moves with notes, analytics."""
    sign_in(page, base)
    page.get_by_role("tab", name="Requests").click()
    table = page.locator("#req-table")
    table.get_by_text(req_id).filter(visible=True).first.wait_for()
    mine = next((r for r in grid(page, "req-table") if r and r[0] == req_id), None)
    if mine is None or mine[1] != due or mine[5] != "received":
        raise WalkError(f"the queue row of {req_id} is {mine!r}; expected due {due}, received")
    shots.take(page, "console-queue", f"the console's Requests tab (signed in as {AGENT}): "
               f"{req_id}, deletion, eu_uk, received, due {due}, soonest due first, "
               "filters by kind / state / jurisdiction")

    table.get_by_text(req_id).filter(visible=True).first.click()
    page.wait_for_function("() => document.querySelector('#req-message textarea')?.value",
                           timeout=TIMEOUT)
    clock = page.locator("#req-clock textarea, #req-clock input").first.input_value()
    page.locator("#req-message").scroll_into_view_if_needed()
    shots.take(page, "console-request-opened", f"{req_id} opened: the message, the "
               f"requester's e-mail (identity not verified), the details and the clock: "
               f"\"{clock}\"")
    for state, note in MOVES:
        pick(page, "req-new-state", state)
        page.locator("#req-note textarea").fill(note)
        page.locator("#req-move").click()
        page.wait_for_function(
            "() => document.querySelector('#req-result textarea')?.value"
            f".includes('is now {state}')", timeout=TIMEOUT)
        page.wait_for_function(
            "() => [...document.querySelectorAll('#req-history .virtual-row')]"
            f".some(r => r.innerText.includes({note[:30]!r}))", timeout=TIMEOUT)
    steps = [(r[2], r[5]) for r in grid(page, "req-history")]
    expected = [("received", "assistant")] + [(state, AGENT) for state, _ in MOVES]
    if steps != expected:
        raise WalkError(f"the history shows {steps}; expected {expected}")
    page.locator("#req-history").scroll_into_view_if_needed()
    shots.take(page, "console-done-history", f"{req_id} after three changes by {AGENT}: "
               "the history lists received (assistant) -> identity_check -> in_progress "
               "-> done, each with its time and note")

    page.get_by_role("tab", name="Analytics").click()
    page.get_by_role("button", name="Refresh").filter(visible=True).first.click()
    on_time = page.locator("#requests-on-time")
    on_time.get_by_text("on-time rate 100%").wait_for()
    line = on_time.inner_text().strip()
    deletion = next((r for r in grid(page, "requests-by-kind") if r and r[0] == "deletion"),
                    None)
    if deletion != ["deletion", "1", "0", "0", "1", "1", "100%"]:
        raise WalkError(f"the analytics row for deletion is {deletion}")
    page.locator("#requests-by-kind").scroll_into_view_if_needed()
    shots.take(page, "console-analytics", f"the analytics page counts it: \"{line}\"; "
               "deletion: 1 request, 1 done, 1 done on time")


@contextlib.contextmanager
def served(port: int, make_env: Callable[[Path, int, int], dict[str, str]], keep: bool,
           pages: str = "") -> Iterator[tuple[Path, SmtpServer]]:
    """A temporary data folder, a recording SMTP server and `policy-qa serve` on `port`
    with the environment `make_env(data, port, smtp_port)` gives, healthy: yields (data,
    smtp). Stops the server and removes the folder (unless `keep`) afterwards."""
    data = Path(tempfile.mkdtemp(prefix="pqa-walk-"))
    server = None
    try:
        with SmtpServer() as smtp:
            server = start_server(make_env(data, port, smtp.port), data / "serve.log")
            wait_healthy(f"http://127.0.0.1:{port}", server)
            print(f"policy-qa serve on http://127.0.0.1:{port}{pages}, SMTP on "
                  f"127.0.0.1:{smtp.port}, data in {data}", flush=True)
            yield data, smtp
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if keep:
            print(f"kept {data}", file=sys.stderr)
        else:
            shutil.rmtree(data, ignore_errors=True)


def new_page(browser):
    """A page in a new 1280 px context whose waits time out after TIMEOUT."""
    context = browser.new_context(viewport=WIDE)
    context.set_default_timeout(TIMEOUT)
    return context.new_page()


def walk(out: Path, keep: bool) -> None:
    from playwright.sync_api import sync_playwright

    port, shots = free_port(), Shots(out)
    base = f"http://127.0.0.1:{port}"
    with served(port, environment, keep) as (data, smtp), sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        req_id, due = chat(new_page(chromium), base, shots)
        page = new_page(chromium)
        inbox(page, wait_mail(smtp, req_id), req_id, due, shots)
        console(new_page(chromium), base, req_id, due, shots)
        chromium.close()
        stored = RequestStore.from_settings(Settings(outbox=data / "outbox.sqlite3"))
        final = stored.get(req_id)
        print(f"request log: {final.id} {final.kind} {final.jurisdiction} "
              f"{final.state}, due {final.respond_by}, on time: {final.on_time}, "
              f"e-mail {final.mail_status}; history: "
              + " -> ".join(f"{e.to_state} ({e.actor})" for e in final.history),
              flush=True)


def options(argv: list[str] | None, doc: str) -> argparse.Namespace:
    """A walk-through's command line: --out (the screenshots' folder) and --keep."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "walkthrough")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = options(argv, __doc__)
    try:
        walk(args.out.resolve(), args.keep)
    except WalkError as exc:
        print(f"walk-through failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
