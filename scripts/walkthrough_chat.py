"""A walk-through of one visitor's chat in the embedded widget and one agent's session in
the support console, on real parts.

As scripts/walkthrough_rights.py does, it builds the bundled Korero index into a
temporary data folder, starts a recording SMTP server (tests/smtp_server.py) and
`policy-qa serve` on free loopback ports, with a console user given only as a pbkdf2
hash. A static page on another loopback port (another origin) embeds the chat with the
<script src=".../widget.js" data-...> tag. Headless Chromium plays the visitor (1280 px
and 375 px: the launcher, the panel with greeting and suggestions, an answered
question, an unanswered one handed off with an e-mail address, a reload, "New
conversation"), the privacy officer (the mail, rendered as a page) and the agent (the
console: login, inbox and filters, the escalation from the mail's link, assign, the
reply link, resolve, the audit trail, groups of similar questions, CSV export).
Screenshots go to docs/walkthrough/chat-NN-<what>.png and console-NN-<what>.png; one
line per screenshot is printed.

    .venv/bin/python scripts/walkthrough_chat.py [--out docs/walkthrough] [--keep]

Needs /usr/bin/chromium and the `test` extra (playwright, aiosmtpd). Exit 1 naming
each step that did not happen as described.
"""

from __future__ import annotations

import html
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "scripts")]

from walkthrough_rights import (  # noqa: E402  (the same server, mail and screenshot parts)
    ARGS,
    CHROMIUM,
    PHONE,
    TIMEOUT,
    WIDE,
    WalkError,
    free_port,
    grid,
    new_page,
    options,
    pick,
    served,
    show_mail,
    small,
    wait_mail,
)
from web_server import serve_page  # noqa: E402

from ui.web.console.auth import hash_password  # noqa: E402

AGENT, PASSWORD = "sam", "walk-through-" + os.urandom(6).hex()
EMAIL = "ana.visitor@example.org"
GREETING = "Kia ora! Ask me how Korero handles your data."
SUGGESTED = ("Do you sell my data?", "How do you use cookies?", "Can I download my data?")
ANSWERED, ANSWERED_PHONE = SUGGESTED[0], SUGGESTED[1]
UNANSWERED = "Are you HIPAA compliant?"
OTHERS = (("Is Korero HIPAA-compliant?", "lee@example.org"),  # other visitors, for grouping
          ("Are you compliant with HIPAA?", "kim@example.org"),
          ("Can I bring my dog to your office?", "max@example.org"))
NOTE = "Korero is not a HIPAA covered entity; replied to the asker with our security page."
REPLY = "#pqa-chat [data-testid='bot']:not(:has(.pqa-typing))"
HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Korero pricing</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:0 auto;padding:1rem}}
</style></head><body><h1>Korero — plans and pricing</h1>
<p>A page of a different site (another origin). The chat button comes from the policy-qa
server through one script tag:</p>
<pre style="white-space:pre-wrap;overflow-wrap:anywhere">{tag}</pre>{script}
</body></html>"""
EMBED = ('<script src="{base}/widget.js" data-color="#0a7d33" data-title="Ask Korero '
         'about privacy" data-position="bottom-right" data-greeting="{greeting}" '
         'data-suggestions="{suggestions}" defer></script>')


class Walk:
    """Numbered screenshots per prefix, their printed lines, and the steps that failed."""

    def __init__(self, out: Path) -> None:
        self.out, self.counts, self.failed = out, {"chat": 0, "console": 0}, []
        out.mkdir(parents=True, exist_ok=True)
        for old in [*out.glob("chat-*.png"), *out.glob("console-*.png")]:
            old.unlink()

    def shot(self, page, prefix: str, what: str, line: str, **options) -> None:
        self.counts[prefix] += 1
        path = self.out / f"{prefix}-{self.counts[prefix]:02d}-{what}.png"
        page.screenshot(path=path, **options)
        small(path)
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown} ({page.viewport_size['width']} px): {line}", flush=True)

    def expect(self, ok: bool, step: str, detail: str) -> bool:
        """A step that did not happen as described: noted (exit 1 at the end), the walk
        goes on so the later screens are still recorded."""
        if not ok:
            self.failed.append(f"{step}: {detail}")
            print(f"  NOT AS DESCRIBED — {step}: {detail}", file=sys.stderr, flush=True)
        return ok


def environment(data: Path, port: int, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               TOKENIZERS_PARALLELISM="false", POLICY_QA_INDEX=str(data / "index"),
               POLICY_QA_OUTBOX=str(data / "outbox.sqlite3"),
               POLICY_QA_MAILDIR=str(data / "maildir"),
               POLICY_QA_ANALYTICS=str(data / "analytics.sqlite3"),
               POLICY_QA_PORT=str(port), POLICY_QA_PUBLIC_URL=f"http://127.0.0.1:{port}",
               POLICY_QA_SMTP_HOST="127.0.0.1", POLICY_QA_SMTP_PORT=str(smtp_port),
               POLICY_QA_MAIL_FROM="assistant@koreroapp.com",
               POLICY_QA_DELIVER_INTERVAL_SECONDS="0.5",
               POLICY_QA_CONSOLE_USERS=f"{AGENT}:{hash_password(PASSWORD)}")
    return env


def in_view(inner, outer) -> bool:
    box, view = inner.bounding_box(), outer.bounding_box()
    return bool(box and view and view["y"] - 1 <= box["y"]
                and box["y"] + box["height"] <= view["y"] + view["height"] + 1)


def ask(frame, question: str, n: int):
    """Type `question` in the chat; the bot's reply number `n` (0: the first)."""
    box = frame.locator("#pqa-ask textarea")
    box.fill(question)
    box.press("Enter")
    return replied(frame, n)


def replied(frame, n: int):
    reply = frame.locator(REPLY).nth(n)
    reply.wait_for()
    frame.locator("#pqa-chat .pqa-typing").first.wait_for(state="detached")
    return reply


def lead_in_view(page, frame, reply, walk: Walk, step: str) -> str:
    page.wait_for_timeout(400)  # the chat's scroll to the reply's first line settles
    lead = reply.locator(".pqa-answer p").first
    log = frame.locator("#pqa-chat [role='log'], #pqa-chat .bubble-wrap").first
    walk.expect(in_view(lead, log), step, "the answer's first line is not inside the "
                "visible chat area")
    return lead.inner_text().strip()


def visitor(page, base: str, host: str, walk: Walk) -> str:
    """The visitor's session in the widget; returns the escalation id they were given."""
    launcher = page.locator("#policy-qa-widget button.launcher")
    panel = page.locator("#policy-qa-widget .panel")
    frame = page.frame_locator("#policy-qa-widget iframe")
    page.goto(host)
    launcher.wait_for()
    walk.shot(page, "chat", "launcher", "a page on another origin with the embed tag; the "
              "closed launcher (accent #0a7d33) bottom right")
    page.set_viewport_size(PHONE)
    walk.shot(page, "chat", "launcher-phone", "the same page at phone width, launcher closed")
    page.set_viewport_size(WIDE)
    launcher.click()
    chat = frame.locator("#pqa-chat")
    chat.get_by_text(GREETING).wait_for()
    for q in SUGGESTED:
        walk.expect(chat.get_by_text(q, exact=True).count() > 0, "1. suggested questions",
                    f"{q!r} is not shown in the opened panel")
    walk.shot(page, "chat", "panel-greeting", "opened: title bar 'Ask Korero about privacy', "
              f"the greeting \"{GREETING}\" and the three suggested questions")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    box = panel.bounding_box()
    walk.expect(bool(box) and box["x"] <= 0 and box["y"] <= 0 and box["width"] >= 375
                and box["height"] >= PHONE["height"], "4. full screen on a phone",
                f"the panel at 375 px is {box}, not the whole viewport")
    walk.expect(page.evaluate("() => document.documentElement.scrollWidth") <= 375,
                "4. full screen on a phone", "the page scrolls sideways at 375 px")
    walk.shot(page, "chat", "panel-fullscreen-phone", "at 375 px the same panel is full "
              "screen (modal), greeting and suggestions, no sideways scrolling")
    page.set_viewport_size(WIDE)

    chat.get_by_text(ANSWERED, exact=True).first.click()  # a suggested question
    reply = replied(frame, 0)
    user = frame.locator("#pqa-chat [data-testid='user']").last.inner_text().strip()
    walk.expect(user == ANSWERED, "2. question echoed", f"the chat shows {user!r}")
    lead = lead_in_view(page, frame, reply, walk, "2. answered question")
    walk.expect(lead.startswith("No"), "2. direct lead", f"the lead is {lead!r}")
    link = reply.locator("blockquote.pqa-quote .pqa-source a").first
    walk.expect(link.count() == 1 and in_view(link, frame.locator("#pqa-chat").first),
                "2. quote with its section link in view", "no section link in the chat view")
    section = link.inner_text() if link.count() else ""
    walk.shot(page, "chat", "answered", f"clicked the suggestion \"{ANSWERED}\": echoed; the "
              f"lead \"{lead[:70]}\" and the quote linking to \"{section}\", in view")
    page.set_viewport_size(PHONE)
    reply = ask(frame, ANSWERED_PHONE, 1)
    lead = lead_in_view(page, frame, reply, walk, "2. answered question at 375 px")
    walk.shot(page, "chat", "answered-phone", f"at 375 px, \"{ANSWERED_PHONE}\": the reply "
              f"from its first line (\"{lead[:60]}\") with its quote")
    page.set_viewport_size(WIDE)

    reply = ask(frame, UNANSWERED, 2)
    text = reply.inner_text()
    walk.expect("does not seem to cover" in text, "3. unanswered", f"the reply: {text[:150]!r}")
    offer = frame.locator("#pqa-handoff-box")
    offer.wait_for()
    inside = frame.locator("#pqa-chat [role='log'] #pqa-handoff-box")
    offered, said = offer.bounding_box(), reply.bounding_box()
    walk.expect(inside.count() == 1 and bool(offered and said)
                and offered["y"] >= said["y"] + said["height"] - 1,
                "3. hand-off offer in the conversation", "the offer is not inside the "
                "conversation right after the reply that offers it")
    said = offer.inner_text()
    walk.expect("goes to" in said and re.search(r"kept for \d+ days", said) is not None,
                "3. what is sent and how long it is kept", f"the offer says {said[:200]!r}")
    offer.scroll_into_view_if_needed()
    walk.shot(page, "chat", "handoff-offer", f"\"{UNANSWERED}\": the policy does not cover "
              "it; the offer says what goes to the privacy team and how long it is kept, "
              "with the optional e-mail field; nothing sent yet")
    page.set_viewport_size(PHONE)
    offer.scroll_into_view_if_needed()
    walk.shot(page, "chat", "handoff-offer-phone", "the same offer at 375 px, full screen")
    page.set_viewport_size(WIDE)
    frame.locator("#pqa-handoff-email input").fill(EMAIL)
    frame.locator("#pqa-handoff-send").scroll_into_view_if_needed()
    walk.shot(page, "chat", "email-filled", f"the e-mail field filled with {EMAIL}, before "
              "'Send to the privacy team'")
    frame.locator("#pqa-handoff-send").click()
    sent = replied(frame, 3)
    found = re.search(r"reference (esc_[A-Za-z0-9_-]+)", sent.inner_text())
    if not found or f"They will reply to {EMAIL}" not in sent.inner_text():
        raise WalkError(f"3. confirmation: no reference and address in {sent.inner_text()!r}")
    esc_id = found.group(1)
    page.wait_for_timeout(400)
    walk.shot(page, "chat", "sent", f"sent: reference {esc_id}; the team will reply to {EMAIL}")
    page.set_viewport_size(PHONE)
    sent.scroll_into_view_if_needed()
    walk.shot(page, "chat", "sent-phone", f"the confirmation with {esc_id} at 375 px")
    page.set_viewport_size(WIDE)

    page.reload()
    launcher.click()
    replied(frame, 3)
    users = frame.locator("#pqa-chat [data-testid='user']").count()
    walk.expect(users == 3, "5. reload keeps the conversation", f"{users} questions after it")
    walk.shot(page, "chat", "reloaded", "after a reload of the host page and reopening: the "
              "three questions, the answers and the confirmation are still there")
    frame.locator("#pqa-new").click()
    frame.locator("#pqa-chat [data-testid='bot']").first.wait_for(state="detached")
    chat.get_by_text(GREETING).wait_for()
    walk.shot(page, "chat", "new-conversation", "'New conversation' cleared it: greeting "
              "and suggestions again")
    return esc_id


def others(browser, base: str) -> None:
    """Three other visitors hand questions off (the chat page alone), so the inbox has
    something to filter and group."""
    context = browser.new_context(viewport=WIDE)
    context.set_default_timeout(TIMEOUT)
    for question, email in OTHERS:
        page = context.new_page()
        page.goto(base + "/")
        ask(page, question, 0)
        page.locator("#pqa-handoff-email input").fill(email)
        page.locator("#pqa-handoff-send").click()
        replied(page, 1)
        page.close()
    context.close()


def officer(page, mail, esc_id: str, base: str, walk: Walk) -> str:
    body = mail.get_content()
    link = f"{base}/console/?escalation={esc_id}"
    page_line = next((x for x in body.splitlines() if x.startswith("Page:")), "")
    walk.expect(link in body, "mail: console link", f"{link} is not in the mail")
    walk.expect("/pricing" in page_line, "mail: page URL", f"the mail says {page_line!r}")
    walk.expect(ANSWERED in body and ANSWERED_PHONE in body, "mail: earlier questions",
                "the earlier questions are not in the mail")
    walk.expect("score" not in body.lower(), "mail: no scores", "the mail mentions a score")
    for name in ("To", "Reply-To", "Subject"):
        print(f"  mail {name}: {mail[name]}", flush=True)
    print(f"  mail {page_line}\n  mail console link: {link}", flush=True)
    show_mail(page, mail)
    walk.shot(page, "chat", "privacy-officer-mail", f"the mail for {esc_id}: Reply-To "
              f"{mail['Reply-To']}, {page_line}, the two earlier questions, the closest "
              "passages without scores, the console link")
    return link


def field(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first.input_value()


def counts(page, expected: str) -> str:
    page.wait_for_function("e => document.querySelector('#queue-counts')?.innerText"
                           ".includes(e)", arg=expected, timeout=TIMEOUT)
    return page.locator("#queue-counts").inner_text().strip()


def agent(page, base: str, esc_id: str, link: str, walk: Walk) -> None:
    page.goto(base + "/console/")
    page.get_by_label("Name").wait_for()
    walk.shot(page, "console", "login", f"{page.url}: the console asks for a name and password")
    page.get_by_label("Name").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/console/")
    line = counts(page, "4 of 4 escalations match")
    rows = grid(page, "queue-table")
    walk.expect(len(rows) == 4 and all(r[2] for r in rows), "inbox: item age",
                f"the table rows are {rows}")
    walk.shot(page, "console", "inbox", f"signed in as {AGENT}: filters (status, dates, text, "
              f"assignee), \"{line}\", each item's age", full_page=True)
    box = page.locator("#f-text input, #f-text textarea").first
    box.fill("HIPAA")
    box.press("Enter")
    line = counts(page, "3 of 3 escalations match")  # shown of matching
    page.wait_for_function("() => document.querySelectorAll('#queue-table .virtual-row')"
                           ".length === 3", timeout=TIMEOUT)
    walk.shot(page, "console", "inbox-filtered", f"search 'HIPAA': the counts follow, "
              f"\"{line}\"; three rows", full_page=True)

    page.goto(link)
    page.wait_for_function("q => document.querySelector('#esc-question textarea')?.value "
                           "=== q", arg=UNANSWERED, timeout=TIMEOUT)
    walk.expect(field(page, "esc-id") == esc_id, "open from the mail link", "another id")
    where, earlier = field(page, "esc-page"), field(page, "esc-conversation")
    walk.expect(where.endswith("/pricing"), "open from the mail link", f"page {where!r}")
    page.locator("#esc-question").scroll_into_view_if_needed()
    walk.shot(page, "console", "opened-from-mail-link", f"{link} opens {esc_id}: the question, "
              f"{EMAIL}, the page {where}, earlier questions {earlier!r}", full_page=True)
    pick(page, "esc-assignee", AGENT)
    page.locator("#esc-assign").click()
    page.wait_for_function("() => document.querySelector('#esc-message textarea')?.value"
                           ".endsWith('assigned.')", timeout=TIMEOUT)
    page.wait_for_function("() => [...document.querySelectorAll('#queue-table .virtual-row')]"
                           f".some(r => r.innerText.includes({AGENT!r}))", timeout=TIMEOUT)
    page.locator("#esc-assignee").scroll_into_view_if_needed()
    walk.shot(page, "console", "assigned", f"{AGENT} assigned it to themself: 'assigned.' "
              "and the assignee in the inbox row")
    href = page.locator("#esc-reply-link").get_attribute("href") or ""
    print(f"  reply link href: {href}", flush=True)
    walk.expect(href.startswith(f"mailto:{EMAIL.replace('@', '%40')}")
                or href.startswith(f"mailto:{EMAIL}"), "reply link", f"href {href[:80]!r}")
    page.locator("#esc-reply-box").scroll_into_view_if_needed()
    walk.shot(page, "console", "reply-link", "'Reply by e-mail to 1 asker': a mailto: link "
              "with the question and the quoted passages")
    page.locator("#esc-note textarea").fill(NOTE)
    page.locator("#esc-resolve").click()
    page.wait_for_function("() => document.querySelector('#esc-message textarea')?.value"
                           ".includes('marked resolved')", timeout=TIMEOUT)
    page.locator("#esc-reopen").wait_for()
    resolution = field(page, "esc-resolution")
    page.locator("#esc-resolution").scroll_into_view_if_needed()
    walk.shot(page, "console", "resolved", f"resolved with the note: {resolution!r}")
    page.wait_for_function("() => [...document.querySelectorAll('#esc-history .virtual-row')]"
                           ".some(r => r.innerText.includes('resolved'))", timeout=TIMEOUT)
    trail = grid(page, "esc-history")
    for when, who, action, detail in trail:
        print(f"  audit: {when} {who} {action} {detail[:80]}", flush=True)
    walk.expect([(w, a) for _, w, a, _ in trail][-2:] == [(AGENT, "assigned"),
                                                          (AGENT, "resolved")],
                "audit trail", f"the trail is {trail}")
    page.locator("#esc-history").scroll_into_view_if_needed()
    walk.shot(page, "console", "audit-trail", "the audit trail: "
              + "; ".join(f"{w} {a} at {t}" for t, w, a, _ in trail))

    page.get_by_text("Similar unresolved questions").click()
    page.locator("#group-go").click()
    page.wait_for_function("() => document.querySelectorAll('#group-table .virtual-row')"
                           ".length > 0", timeout=TIMEOUT)
    groups = grid(page, "group-table")
    print("  groups: " + " | ".join(" / ".join(g) for g in groups), flush=True)
    walk.expect(bool(groups) and groups[0][0] == "2" and "HIPAA" in groups[0][1],
                "grouping", f"the groups are {groups}")
    page.locator("#groups").scroll_into_view_if_needed()
    walk.shot(page, "console", "groups", "similar unresolved questions grouped: "
              + "; ".join(f"{g[0]} × \"{g[1]}\"" for g in groups))

    pick(page, "f-status", "all")
    counts(page, "4 of 4 escalations match")
    page.locator("#queue-export").click()
    file = page.locator("#queue-export-file a").first
    file.wait_for()
    with page.expect_download() as info:
        file.click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    for text in lines[:3]:
        print(f"  csv: {text[:160]}", flush=True)
    walk.expect(len(lines) == 5 and lines[0].startswith("id,created,status"), "CSV export",
                f"{len(lines)} lines")
    page.locator("#queue-export").scroll_into_view_if_needed()
    walk.shot(page, "console", "csv-export", f"status 'all', 'Export the filtered list "
              f"(CSV)': a file of {len(lines) - 1} rows ({lines[0][:60]}…)")


def walk(out: Path, keep: bool) -> list[str]:
    from playwright.sync_api import sync_playwright

    port, steps = free_port(), Walk(out)
    base = f"http://127.0.0.1:{port}"
    embed = EMBED.format(base=base, greeting=html.escape(GREETING),
                         suggestions=html.escape("|".join(SUGGESTED)))
    page_html = HOST_PAGE.format(tag=html.escape(embed), script=embed)
    with (serve_page(page_html) as host,
          served(port, environment, keep, pages=f", host page {host}pricing") as (_, smtp),
          sync_playwright() as pw):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = new_page(browser)
        esc_id = visitor(page, base, host + "pricing", steps)
        link = officer(page, wait_mail(smtp, esc_id), esc_id, base, steps)
        others(browser, base)
        agent(new_page(browser), base, esc_id, link, steps)
        browser.close()
    return steps.failed


def main(argv: list[str] | None = None) -> int:
    args = options(argv, __doc__)
    try:
        failed = walk(args.out.resolve(), args.keep)
    except WalkError as exc:
        print(f"walk-through failed: {exc}", file=sys.stderr)
        return 1
    for step in failed:
        print(f"walk-through: not as described: {step}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
