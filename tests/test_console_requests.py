"""The console's Requests tab: in headless Chromium against the real app on loopback
(the queue sorted by due date with OVERDUE / DUE SOON labels and colours of at least
4.5:1 contrast, the kind filter, one request's history, three state changes recorded
with the signed-in user as actor, the CSV export downloaded and matching the log, a
hostile message shown as text, the analytics table), plus fast tests of the pure
helpers. Screenshots go to the test's tmp_path."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
import test_console_browser as browser
from browser_kit import TIMEOUT, needs_chromium
from fastapi import FastAPI
from web_server import serve_app

from qa.analytics import Analytics
from qa.rights.store import RequestStore
from ui.web.console import requests as tab
from ui.web.console.pages import mount_console

HOSTILE = "<img src=x onerror=alert(1)> please delete my account and all my data"
INBOX = "privacy@example.com"
DAY = 86400.0
page = browser.page  # the headless Chromium fixture of the console browser test


def _noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _seed(store_path: Path) -> dict[str, Any]:
    """Three us_other requests (45 days to respond): overdue by 5 days, due in 2, later."""
    today = _utc_today()
    at = [0.0]
    store = RequestStore(store_path, clock=lambda: at[0])
    made = {}
    for name, kind, received, email, text in (
            ("later", "deletion", today, "later@example.org", HOSTILE),
            ("overdue", "deletion", today - timedelta(days=50), "late@example.org",
             "Please erase everything you hold about me."),
            ("soon", "access", today - timedelta(days=43), "soon@example.org",
             "Send me a copy of my personal data.")):
        at[0] = _noon(received)
        made[name] = store.submit(kind, "us_other", email, text, to=INBOX)
    return made


# --- the browser ---------------------------------------------------------------------

@pytest.fixture()
def console(make_service, tmp_path: Path) -> Iterator[tuple[str, RequestStore, dict[str, Any]]]:
    """(base URL, the console's request log, the seeded requests by name)."""
    service = make_service(console_users="agent:correct-horse-battery")
    store = RequestStore.from_settings(service.settings)  # the file the console opens
    made = _seed(store.path)
    app = FastAPI()
    mount_console(app, service, service.settings, Analytics.from_settings(service.settings),
                  cache=tmp_path / "console")
    with serve_app(app) as base:
        yield base, store, made


def _rows(page) -> list[list[str]]:
    return page.evaluate("""() => [...document.querySelectorAll('#req-table .virtual-row')]
        .map(r => [...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))""")


def _wait_rows(page, count: int) -> list[list[str]]:
    page.wait_for_function(
        f"() => document.querySelectorAll('#req-table .virtual-row').length === {count}",
        timeout=TIMEOUT)
    return _rows(page)


def _pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def _rgb(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text[text.index("(") + 1:text.index(")")].split(",")[:3])


def _contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    def lum(rgb: tuple[float, ...]) -> float:
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _cell_colours(page, row: int) -> tuple[float, float]:
    """(contrast, red minus blue of the background) of the first cell of a row."""
    style = page.evaluate(f"""() => {{
        const c = document.querySelector('#req-table [data-testid="cell-{row}-0"]');
        const s = getComputedStyle(c); return [s.color, s.backgroundColor]; }}""")
    fg, bg = _rgb(style[0]), _rgb(style[1])
    return _contrast(fg, bg), bg[0] - bg[2]


def _move(page, state: str, note: str) -> None:
    _pick(page, "req-new-state", state)
    page.locator("#req-note textarea").fill(note)
    page.locator("#req-move").click()
    page.wait_for_function(
        f"() => document.querySelector('#req-result textarea')?.value.includes('is now {state}')",
        timeout=TIMEOUT)
    page.wait_for_function(  # the history reloaded with the new event
        f"() => [...document.querySelectorAll('#req-history .virtual-row')].some("
        f"r => r.innerText.includes({json.dumps(note)}))", timeout=TIMEOUT)


@pytest.mark.browser
@needs_chromium
def test_requests_tab_in_chromium(console, page, tmp_path: Path) -> None:
    base, store, made = console
    browser._sign_in(page, base, tmp_path)
    page.get_by_role("tab", name="Requests").click()

    rows = _wait_rows(page, 3)
    assert [r[0] for r in rows] == [made["overdue"].id, made["soon"].id, made["later"].id]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # soonest due first
    assert rows[0][2] == "OVERDUE by 5 days" and rows[1][2] == "DUE SOON: 2 days"
    assert rows[2][2] == "" and rows[2][8] == HOSTILE  # the payload, as text
    browser._assert_text_only(page)
    overdue, soon, later = (_cell_colours(page, i) for i in range(3))
    assert overdue[0] >= 4.5 and soon[0] >= 4.5
    assert overdue[1] > 0 and soon[1] > 0  # red and amber backgrounds: more red than blue
    assert later[1] != overdue[1] and later[1] != soon[1]
    page.get_by_text("overdue: 1 · due within 3 days: 1").wait_for()
    page.screenshot(path=tmp_path / "requests-queue.png", full_page=True)

    _pick(page, "req-kind", "access")
    (row,) = _wait_rows(page, 1)
    assert row[0] == made["soon"].id
    page.locator('#req-table [data-testid="cell-0-8"]').click()
    page.wait_for_function("() => document.querySelector('#req-message textarea')?.value",
                           timeout=TIMEOUT)
    assert page.locator("#req-message textarea").input_value() == made["soon"].question
    assert page.locator("#req-email textarea, #req-email input").first.input_value() \
        == "soon@example.org"
    page.locator("#req-history").get_by_text("assistant").filter(visible=True).first.wait_for()

    for state, note in (("identity_check", "Asked for a photo ID."),
                        ("in_progress", "ID checked; collecting the data."),
                        ("done", "Sent the copy by secure link.")):
        _move(page, state, note)
    history = store.history(made["soon"].id)
    assert [(e.from_state, e.to_state, e.actor) for e in history[1:]] == [
        ("received", "identity_check", "agent"), ("identity_check", "in_progress", "agent"),
        ("in_progress", "done", "agent")]
    assert history[-1].note == "Sent the copy by secure link."
    page.wait_for_function(  # the queue reloads after the history
        "() => document.querySelector('#req-table [data-testid=\"cell-0-5\"]')"
        "?.innerText.trim() === 'done'", timeout=TIMEOUT)
    (row,) = _rows(page)
    assert row[2] == ""  # a closed request is never flagged
    page.screenshot(path=tmp_path / "requests-done.png", full_page=True)

    page.locator("#req-export-csv").click()
    link = page.locator("#req-export a").filter(visible=True).first
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("privacy-requests-")
    assert download.suggested_filename.endswith(".csv")
    exported = list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8"))))
    assert exported == store.export_rows()
    assert {r["id"]: r["state"] for r in exported}[made["soon"].id] == "done"

    page.get_by_role("tab", name="Analytics").click()
    page.get_by_role("button", name="Refresh").filter(visible=True).first.click()
    page.locator("#requests-on-time").get_by_text("on-time rate 100%").wait_for()
    by_kind = page.locator("#requests-by-kind")
    by_kind.get_by_text("access", exact=True).filter(visible=True).first.wait_for()
    browser._assert_text_only(page)
    page.screenshot(path=tmp_path / "requests-analytics.png", full_page=True)


# --- pure helpers ----------------------------------------------------------------------

@pytest.fixture()
def store(tmp_path: Path) -> RequestStore:
    _seed(tmp_path / "requests.sqlite3")
    return RequestStore(tmp_path / "requests.sqlite3")


def test_urgency_and_labels(store: RequestStore) -> None:
    on = _utc_today()
    by_email = {r.email: r for r in store.list()}
    late, soon, later = (by_email[f"{n}@example.org"] for n in ("late", "soon", "later"))
    assert [tab.urgency(r, on) for r in (late, soon, later)] == ["overdue", "soon", ""]
    assert tab.flag_label(late, on) == "OVERDUE by 5 days"
    assert tab.flag_label(soon, on) == "DUE SOON: 2 days"
    due = date.fromisoformat(soon.respond_by)
    assert tab.flag_label(soon, due) == "DUE TODAY"
    assert tab.flag_label(soon, due - timedelta(days=1)) == "DUE SOON: 1 day"
    assert tab.flag_label(soon, due + timedelta(days=1)) == "OVERDUE by 1 day"
    assert tab.urgency(soon, due - timedelta(days=4)) == ""
    refused = store.set_state(late.id, "refused", "x", "t", reason="not the account holder")
    assert tab.urgency(refused, on) == "" and tab.flag_label(refused, on) == ""
    row = tab.request_row(later, on)
    assert row[0] == later.id and row[-1] == HOSTILE and row[-2] == "later@example.org"


def test_queue_rows_are_sorted_styled_and_filtered(store: RequestStore) -> None:
    line, styler = tab.request_rows(store)
    assert line.startswith("**3 request(s)**") and "overdue: 1" in line
    shown = gr.Dataframe(headers=tab.REQUEST_COLUMNS, datatype="str", interactive=False) \
        .postprocess(styler)
    data, styles = shown.data, shown.metadata["styling"]
    assert [r[1] for r in data] == sorted(r[1] for r in data)
    assert [r[2].split(" ")[0] for r in data] == ["OVERDUE", "DUE", ""]
    assert all(s == tab.STYLES["overdue"] for s in styles[0])
    assert all(s == tab.STYLES["soon"] for s in styles[1]) and set(styles[2]) == {""}
    assert data[2][8] == HOSTILE and all("<" not in s for row in styles for s in row)
    _, only = tab.request_rows(store, kind="access", state="all", jurisdiction="us_other")
    assert list(only.data["kind"]) == ["access"]
    assert tab.request_rows(store, kind="nope")[0].startswith("Cannot list: kind must be")


def test_highlight_colours_meet_wcag_aa() -> None:
    for style in tab.STYLES.values():
        props = dict(p.split(": ") for p in style.split("; "))
        fg, bg = (tuple(int(props[k][i:i + 2], 16) for i in (1, 3, 5))
                  for k in ("color", "background-color"))
        assert _contrast(fg, bg) >= 4.5


def test_open_and_change_state(store: RequestStore) -> None:
    soon = next(r for r in store.list() if r.kind == "access")
    ident, message, email, details, clock, history, moves, result = tab.open_request(
        store, f"  {soon.id} ")
    assert (ident, message, email, details, result) == (
        soon.id, soon.question, "soon@example.org", "(none)", "")
    assert clock.startswith("received;") and f"due {soon.due}" in clock
    assert f"received {soon.received_local} ({tab._when(soon.received_at)})" in clock
    assert history.values.tolist() == [[tab._when(soon.received_at), "", "received", "", "",
                                        "assistant"]]
    assert moves["choices"] == ["identity_check", "in_progress", "extended", "refused"]
    assert "no rights request" in tab.open_request(store, "req_nope")[-1]

    def said(state, note, reason, user="sam"):
        return tab.change_state(store, soon.id, state, note, reason, user)

    assert said(None, "n", "") == (False, "pick the new state first")
    assert not said("in_progress", " ", "")[0]
    assert "note is required" in said("in_progress", " ", "")[1]
    assert "reason is required" in said("refused", "n", "")[1]
    assert "cannot move to done" in said("done", "n", "")[1]
    moved, text = said("extended", "more time", "complex request")
    assert moved and "is now extended" in text
    last = store.history(soon.id)[-1]
    assert (last.to_state, last.note, last.reason, last.actor) == (
        "extended", "more time", "complex request", "sam")
    assert said("in_progress", "n", "", "") == (
        True, f"{soon.id} is now in_progress (due {store.get(soon.id).respond_by}).")
    assert store.history(soon.id)[-1].actor == "console"


def test_export_goes_into_the_cache_and_old_exports_go(store: RequestStore,
                                                       tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = tab.export_log(store, "csv", cache)
    assert first.is_relative_to(cache / tab.EXPORT_DIR) and first.suffix == ".csv"
    assert list(csv.DictReader(io.StringIO(first.read_text("utf-8")))) == store.export_rows()
    old = time.time() - tab.EXPORT_SECONDS - 60
    os.utime(first.parent, (old, old))
    second = tab.export_log(store, "JSON", cache)
    assert json.loads(second.read_text("utf-8")) == [
        {**r, "passages": json.loads(r["passages"]), "history": json.loads(r["history"])}
        for r in store.export_rows()]
    assert not first.exists() and second.parent != first.parent
    assert sorted(p.name for p in (cache / tab.EXPORT_DIR).iterdir()) == [second.parent.name]


def test_summary_by_kind_and_on_time_rate(store: RequestStore) -> None:
    line, table = tab.summary_rows(store)
    assert "Privacy requests: 3" in line and "on-time rate –" in line and "overdue now: 1" in line
    rows = {r[0]: r[1:] for r in table.values.tolist()}
    assert rows["deletion"] == ["2", "2", "1", "0", "0", "–"]
    soon = next(r for r in store.list() if r.kind == "access")
    for state in ("in_progress", "done"):
        store.set_state(soon.id, state, "n", "sam")
    line, table = tab.summary_rows(store)
    assert "on-time rate 100% (1 of 1 done on time)" in line
    assert {r[0]: r[1:] for r in table.values.tolist()}["access"] == [
        "1", "0", "0", "1", "1", "100%"]


def test_state_and_jurisdiction_filters_narrow_the_queue(store: RequestStore) -> None:
    eu = store.submit("objection", "eu_uk", "eu@example.org", "I object to profiling",
                      to=INBOX)
    soon = next(r for r in store.list() if r.kind == "access")
    store.set_state(soon.id, "identity_check", "asked for ID", "sam")

    def ids(**filters: str) -> list[str]:
        return list(tab.request_rows(store, **filters)[1].data["id"])

    assert ids(state="identity_check") == [soon.id]
    assert ids(jurisdiction="eu_uk") == [eu.id]
    assert len(ids(jurisdiction="us_other")) == 3
    assert ids(kind="deletion", state="identity_check") == []
    assert tab.request_rows(store, state="closed")[0].startswith("Cannot list: state must be")
    # open ones only, overdue ones only; closed ones sort last, flagged ones first
    store.set_state(eu.id, "in_progress", "on it", "sam")
    store.set_state(eu.id, "done", "sent the answer", "sam")
    every = ids()
    assert every[-1] == eu.id and eu.id not in ids(state="open")
    assert len(ids(state="open")) == len(every) - 1
    flags = [tab.urgency(store.get(i), tab.today(store)) for i in every]
    assert flags == sorted(flags, key=lambda f: {"overdue": 0, "soon": 1, "": 2}[f])
    assert ids(state="overdue") == [i for i, f in zip(every, flags, strict=True)
                                    if f == "overdue"]


def test_a_request_not_yet_confirmed_is_flagged_by_its_confirmation_date(tmp_path: Path):
    """California: confirm receipt within 10 business days. Still "received" after
    that, the request is overdue, though its response date is weeks away."""
    from datetime import UTC, datetime

    received = datetime(2027, 3, 1, 12, tzinfo=UTC).timestamp()  # a Monday
    store = RequestStore(tmp_path / "r.sqlite3", clock=lambda: received)
    ca = store.submit("access", "california", "ana@example.org", "send me my data",
                      to="privacy@example.com")
    assert ca.confirm_by == "2027-03-15"
    assert tab.flag_label(ca, date(2027, 3, 12)) == "CONFIRM RECEIPT: 3 days"
    assert tab.flag_label(ca, date(2027, 3, 15)) == "CONFIRM RECEIPT TODAY"
    assert tab.urgency(ca, date(2027, 3, 16)) == "overdue"
    assert tab.flag_label(ca, date(2027, 3, 16)) == "CONFIRM RECEIPT: OVERDUE by 1 day"
    confirmed = store.set_state(ca.id, "identity_check", note="wrote to ana")
    assert tab.urgency(confirmed, date(2027, 3, 16)) == ""  # the response is due 04-15
