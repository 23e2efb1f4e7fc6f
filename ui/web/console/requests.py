"""The console's privacy-requests tab: the rights request log (qa/rights/store.py) as a
queue sorted by due date, overdue and due-soon requests flagged (a text label and a
colour), filters by kind, state and jurisdiction, one request with its history, state
changes with a note (and a reason for refused/extended) made as the signed-in console
user, and CSV/JSON export of the whole log into the console's own gradio cache.

As in ui/web/console/queue.py, each action is a pure data function plus wiring, and the
visitor's text (message, details, e-mail) reaches the page only as gr.Dataframe cells of
type "str" and gr.Textbox values, which render as text. The queue's colours are pandas
Styler CSS made here from fixed strings, never from request data.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from pandas.io.formats.style import Styler

from index.errors import PolicyQAError
from qa.rights.deadlines import JURISDICTIONS, local_day
from qa.rights.features import KINDS
from qa.rights.records import FINAL_STATES, STATES, TRANSITIONS, RightsRequest, to_csv, to_json
from qa.rights.store import RequestStore
from qa.rights.urgency import SOON_DAYS, flag_label, urgency
from ui.web.console.exports import EXPORT_SECONDS, write_export  # noqa: F401 (the tests read it)

log = logging.getLogger(__name__)

REQUEST_COLUMNS = ["id", "due", "flag", "kind", "jurisdiction", "state", "received",
                   "e-mail", "message"]
HISTORY_COLUMNS = ["when", "from", "to", "note", "reason", "by"]
SUMMARY_COLUMNS = ["kind", "requests", "open", "overdue", "done", "done on time",
                   "on-time rate"]
MAX_ROWS = 500
EXPORT_DIR = "requests-export"
# text on background, both fixed: 8.2:1 (overdue) and 7.8:1 (due soon), WCAG AA needs 4.5
STYLES = {"overdue": "background-color: #fde2e1; color: #7f1d1d; font-weight: 600",
          "soon": "background-color: #fef3c7; color: #713f12; font-weight: 600"}


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else ""


def today(store: RequestStore) -> date:
    """The calendar day of the store's clock in its deadlines' time zone."""
    return local_day(store.clock(), store.rules)


def request_row(request: RightsRequest, on: date) -> list[str]:
    due = request.respond_by + (" (extended)" if request.extended_due else "")
    return [request.id, due, flag_label(request, on), request.kind, request.jurisdiction,
            request.state, request.received_local, request.email, request.question]


def _choice(value: str | None) -> str | None:
    return None if value in (None, "", "all") else value


# the State filter's choices beyond the states themselves
OPEN, OVERDUE = "open", "overdue"
STATE_CHOICES = ["all", OPEN, OVERDUE, *STATES]
_RANK = {"overdue": 0, "soon": 1, "": 2}


def request_rows(store: RequestStore, kind: str | None = "all", state: str | None = "all",
                 jurisdiction: str | None = "all") -> tuple[str, Styler]:
    """(summary line, the matching requests — overdue ones first, then those due soon,
    then the other open ones, soonest due first in each, the closed ones last —, overdue
    rows red and due-soon rows amber) — at most MAX_ROWS of them. `state` may also be
    "open" (not done or refused) or "overdue"."""
    on = today(store)
    try:
        items = store.list(kind=_choice(kind),
                           state=None if state in (OPEN, OVERDUE) else _choice(state),
                           jurisdiction=_choice(jurisdiction))
    except PolicyQAError as exc:
        return f"Cannot list: {exc}", pd.DataFrame([], columns=REQUEST_COLUMNS).style
    if state == OPEN:
        items = [r for r in items if r.state not in FINAL_STATES]
    elif state == OVERDUE:
        items = [r for r in items if urgency(r, on) == "overdue"]
    items.sort(key=lambda r: (r.state in FINAL_STATES, _RANK[urgency(r, on)]))  # stable
    levels = [urgency(r, on) for r in items[:MAX_ROWS]]
    table = pd.DataFrame([request_row(r, on) for r in items[:MAX_ROWS]],
                         columns=REQUEST_COLUMNS)
    styler = table.style.apply(
        lambda row: [STYLES.get(levels[row.name], "")] * len(row), axis=1)
    line = (f"**{len(items)} request(s)** — overdue: {levels.count('overdue')} · "
            f"due within {SOON_DAYS} days: {levels.count('soon')}")
    if len(items) > MAX_ROWS:
        line += f" (showing the first {MAX_ROWS}; filter, or export the log)"
    return line, styler


def history_rows(request: RightsRequest | None) -> pd.DataFrame:
    events = request.history if request is not None else ()
    return pd.DataFrame([[_when(e.at), e.from_state or "", e.to_state, e.note, e.reason,
                          e.actor] for e in events], columns=HISTORY_COLUMNS)


def open_request(store: RequestStore, req_id: str) -> tuple[Any, ...]:
    """(id, message, e-mail, details, clock and state, history, next-state choices,
    result message) of one request."""
    try:
        r = store.get((req_id or "").strip())
    except PolicyQAError as exc:
        return (req_id, "", "", "", "", history_rows(None), gr.update(choices=[], value=None),
                str(exc))
    clock = (f"{r.state}; received {r.received_local} ({_when(r.received_at)}); due {r.due}"
             + (f", extended to {r.extended_due}" if r.extended_due else "")
             + (f"; confirm receipt by {r.confirm_by}" if r.confirm_by else "")
             + (f"; closed {_when(r.closed_at)}" if r.closed_at else "")
             + (f"; on time: {'yes' if r.on_time else 'no'}" if r.on_time is not None else "")
             + f"; e-mail to {r.to}: {r.mail_status}")
    moves = list(TRANSITIONS[r.state])
    return (r.id, r.question, r.email, r.details or "(none)", clock, history_rows(r),
            gr.update(choices=moves, value=None), "")


def change_state(store: RequestStore, req_id: str, state: str | None, note: str | None,
                 reason: str | None, user: str) -> tuple[bool, str]:
    """Move a request, as `user`, with a note (required here, for the team's record):
    (whether it moved, what to tell the agent)."""
    if not state:
        return False, "pick the new state first"
    if not (note or "").strip():
        return False, "a note is required: say what was done or decided"
    try:
        moved = store.set_state((req_id or "").strip(), state, note, user or "console",
                                reason=reason)
    except PolicyQAError as exc:
        return False, str(exc)
    log.info("rights request %s moved to %s by %s", moved.id, moved.state, user or "console")
    return True, f"{moved.id} is now {moved.state} (due {moved.respond_by})."


def export_log(store: RequestStore, fmt: str, cache: str | Path) -> Path:
    """Write the whole log as CSV or JSON into a fresh unguessable folder of the gradio
    cache `cache` (the only place the console serves files from); exports older than
    EXPORT_SECONDS are removed first, since the log holds personal data."""
    ext = "json" if fmt.lower() == "json" else "csv"
    rows = store.export_rows()
    text = to_json(rows) if ext == "json" else to_csv(rows)
    return write_export(cache, EXPORT_DIR, "privacy-requests", ext, text, store.clock())


def summary_rows(store: RequestStore) -> tuple[str, pd.DataFrame]:
    """(on-time line, requests per kind with open, overdue, done and on-time counts)."""
    on = today(store)
    items = store.list()
    counts = store.counts()
    rows = []
    for kind in KINDS:
        mine = [r for r in items if r.kind == kind]
        done = [r for r in mine if r.state == "done"]
        timely = sum(1 for r in done if r.on_time)
        rows.append([kind, len(mine), sum(r.state not in FINAL_STATES for r in mine),
                     sum(urgency(r, on) == "overdue" for r in mine), len(done), timely,
                     f"{timely / len(done):.0%}" if done else "–"])
    rate = counts["on_time_rate"]
    line = (f"**Privacy requests: {counts['total']}**; on-time rate "
            f"{'–' if rate is None else f'{rate:.0%}'} ({counts['done_on_time']} of "
            f"{counts['done']} done on time); overdue now: {counts['overdue']}.")
    return line, pd.DataFrame([[str(v) for v in row] for row in rows],
                              columns=SUMMARY_COLUMNS)


def requests_tab(demo: gr.Blocks, store: RequestStore) -> None:
    with gr.Row():
        kind = gr.Dropdown(["all", *KINDS], value="all", label="Kind", elem_id="req-kind")
        state = gr.Dropdown(STATE_CHOICES, value="all", label="State", elem_id="req-state")
        place = gr.Dropdown(["all", *JURISDICTIONS], value="all", label="Jurisdiction",
                            elem_id="req-jurisdiction")
        refresh = gr.Button("Refresh", scale=0)
    counts = gr.Markdown(elem_id="req-counts")
    table = gr.Dataframe(headers=REQUEST_COLUMNS, datatype="str", interactive=False,
                         wrap=True, elem_id="req-table",
                         column_widths=["12%", "9%", "12%", "8%", "8%", "8%", "12%", "12%",
                                        "19%"],
                         label="Requests: overdue, due soon, other open ones (each soonest "
                               "due first), then closed ones (click a row to open it)")
    with gr.Row():
        req_id = gr.Textbox(label="Request id", scale=3, elem_id="req-id")
        open_button = gr.Button("Open", scale=0, elem_id="req-open")
    message = gr.Textbox(label="Message", interactive=False, lines=2, elem_id="req-message")
    with gr.Row():
        email = gr.Textbox(label="Requester e-mail (identity not verified)",
                           interactive=False, elem_id="req-email")
        clock = gr.Textbox(label="State and deadlines", interactive=False,
                           elem_id="req-clock")
    details = gr.Textbox(label="Details", interactive=False, lines=2, elem_id="req-details")
    history = gr.Dataframe(headers=HISTORY_COLUMNS, datatype="str", interactive=False,
                           wrap=True, label="History", elem_id="req-history",
                           column_widths=["16%", "12%", "12%", "34%", "16%", "10%"])
    with gr.Row():
        new_state = gr.Dropdown(list(STATES), value=None, label="New state",
                                elem_id="req-new-state")
        reason = gr.Textbox(label="Reason (required for refused and extended)",
                            elem_id="req-reason")
    note = gr.Textbox(label="Note (what was done or decided)", lines=2, elem_id="req-note")
    move = gr.Button("Change state", variant="primary", elem_id="req-move")
    result = gr.Textbox(label="Result", interactive=False, elem_id="req-result")
    with gr.Row():
        export_csv = gr.Button("Export CSV", scale=0, elem_id="req-export-csv")
        export_json = gr.Button("Export JSON", scale=0, elem_id="req-export-json")
        export_file = gr.File(label="Export of the request log", interactive=False,
                              elem_id="req-export")

    filters = [kind, state, place]
    queue = [counts, table]
    detail = [req_id, message, email, details, clock, history, new_state, result]

    def load_queue(k: str, s: str, j: str) -> tuple[str, Styler]:
        return request_rows(store, k, s, j)

    def load_one(ident: str) -> tuple[Any, ...]:
        """The request, with an empty form: a reason or note typed for one request must
        never be saved on the next one opened (console audit, 2026-12-08)."""
        return (*open_request(store, ident), "", "")

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row else ""

    def do_move(ident: str, to: str | None, text: str, why: str,
                request: gr.Request) -> tuple[Any, ...]:
        """Moved: the request as it now is, the form emptied. Refused: the reason, and the
        form as the agent left it, to correct and retry."""
        moved, said = change_state(store, ident, to, text, why,
                                   getattr(request, "username", "") or "")
        if moved:
            return (*open_request(store, ident)[:-1], said, "", "")
        return (*[gr.update()] * (len(detail) - 1), said, gr.update(), gr.update())

    def exporter(fmt: str) -> Any:
        def run(request: gr.Request) -> str:
            path = export_log(store, fmt, export_file.GRADIO_CACHE)
            log.info("rights request log exported as %s by %s", fmt,
                     getattr(request, "username", "") or "console")
            return str(path)
        return run

    for trigger in (refresh.click, kind.change, state.change, place.change):
        trigger(load_queue, filters, queue, api_name=False)
    demo.load(load_queue, filters, queue, api_name="requests")
    opened = [*detail, note, reason]
    demo.load(request_from_link, None, [req_id], api_name=False).then(
        load_one, req_id, opened, api_name=False)
    table.select(pick, None, req_id, api_name=False).then(load_one, req_id, opened,
                                                          api_name=False)
    open_button.click(load_one, req_id, opened, api_name="open_request")
    req_id.submit(load_one, req_id, opened, api_name=False)
    (move.click(do_move, [req_id, new_state, note, reason], opened, api_name="request_state")
     .then(load_queue, filters, queue, api_name=False))
    export_csv.click(exporter("csv"), None, export_file, api_name="export_requests_csv")
    export_json.click(exporter("json"), None, export_file, api_name="export_requests_json")


def request_from_link(request: gr.Request) -> str:
    """The request mail's console link is /console/?request=ID: open that one."""
    params = getattr(request, "query_params", None) or {}
    return str(params.get("request", ""))[:64]
