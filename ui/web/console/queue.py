"""The console's escalation-queue tab: list escalations by status, open one, resend a
failed one, and mark one resolved with the policy section that answers it. As in
ui/web/console/tabs.py, each action is a pure data function plus a builder wiring it to
gradio components, and visitor-supplied text (questions, e-mails, notes) reaches the
page only through gr.Dataframe cells of type "str" and gr.Textbox values.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import gradio as gr
import pandas as pd

from index.errors import PolicyQAError
from qa.escalation.outbox import STATUSES, Escalation, Outbox
from ui.web.console.tabs import frame

log = logging.getLogger(__name__)

QUEUE_COLUMNS = ["id", "created", "status", "attempts", "question", "asker e-mail", "last error"]
PASSAGE_COLUMNS = ["section", "anchor", "score", "quote"]


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else ""


def queue_rows(outbox: Outbox, status: str = "all") -> tuple[str, pd.DataFrame]:
    """(counts line, table of escalations newest first) for a status or "all"."""
    counts = outbox.counts()
    line = " · ".join(f"{s}: {counts[s]}" for s in STATUSES)
    items = outbox.list(status=None if status in ("", "all", None) else status)
    rows = [[e.id, _when(e.created_at), e.status, e.attempts, e.question, e.email or "",
             e.last_error or ""] for e in items]
    return f"**{sum(counts.values())} escalations** — {line}", frame(rows, QUEUE_COLUMNS)


def _details(e: Escalation) -> tuple[str, str, str, str, str, pd.DataFrame, str]:
    state = (f"{e.status}; {e.attempts} delivery attempt(s); created {_when(e.created_at)}"
             + (f"; sent {_when(e.sent_at)}" if e.sent_at else "")
             + (f"; resolved {_when(e.resolved_at)}" if e.resolved_at else ""))
    passages = frame([[p.section, p.anchor, round(p.score, 4), p.quote] for p in e.passages],
                      PASSAGE_COLUMNS)
    resolution = ""
    if e.status == "resolved":
        resolution = f"{e.resolution_note or ''}\n[section: {e.resolution_section or 'none'}]"
    return (e.question, e.email or "(none given)", f"{state}; to {e.to}", e.last_error or "",
            e.id, passages, resolution)


def open_escalation(outbox: Outbox, esc_id: str) -> tuple[Any, ...]:
    """(question, asker e-mail, state, last error, id, passages, resolution, message)."""
    try:
        return (*_details(outbox.get((esc_id or "").strip())), "")
    except PolicyQAError as exc:
        return ("", "", "", "", esc_id, frame([], PASSAGE_COLUMNS), "", str(exc))


def resend(outbox: Outbox, esc_id: str, user: str = "") -> str:
    try:
        esc = outbox.resend((esc_id or "").strip())
    except PolicyQAError as exc:
        return str(exc)
    log.info("escalation %s re-queued by %s", esc.id, user or "an agent")
    return f"{esc.id} is queued again for delivery."


def resolve(outbox: Outbox, esc_id: str, note: str, section: str | None, user: str = "",
            known: set[str] | None = None) -> str:
    """Mark resolved; `section`, when given, must be one of the `known` anchors."""
    if section and known is not None and section not in known:
        return f"unknown section {section[:80]!r}; pick one from the list"
    try:
        esc = outbox.resolve((esc_id or "").strip(), note, section=section or None)
    except PolicyQAError as exc:
        return str(exc)
    log.info("escalation %s resolved by %s", esc.id, user or "an agent")
    return f"{esc.id} marked resolved" + (f" (section {esc.resolution_section})."
                                          if esc.resolution_section else ".")


def section_choices(service: Any) -> list[tuple[str, str]]:
    """(section title, anchor) of every distinct section of the index, in policy order."""
    try:
        chunks = service.index.chunks
    except PolicyQAError:
        return []
    seen: dict[str, str] = {}
    for chunk in chunks:
        seen.setdefault(chunk.anchor, f"{chunk.section} (#{chunk.anchor})")
    return [(label, anchor) for anchor, label in seen.items()]


def queue_tab(demo: gr.Blocks, service: Any, outbox: Outbox) -> None:
    with gr.Row():
        status = gr.Dropdown(["all", *STATUSES], value="all", label="Status", scale=1)
        refresh = gr.Button("Refresh", scale=0)
    counts = gr.Markdown()
    table = gr.Dataframe(headers=QUEUE_COLUMNS, datatype="str", interactive=False, wrap=True,
                         label="Escalations (click a row to open it)", elem_id="queue-table",
                         column_widths=["13%", "13%", "7%", "7%", "38%", "12%", "10%"])
    with gr.Row():
        esc_id = gr.Textbox(label="Escalation id", scale=3, elem_id="esc-id")
        open_button = gr.Button("Open", scale=0)
    question = gr.Textbox(label="Question", interactive=False, lines=2, elem_id="esc-question")
    with gr.Row():
        email = gr.Textbox(label="Asker e-mail", interactive=False)
        state = gr.Textbox(label="Status and delivery", interactive=False)
    last_error = gr.Textbox(label="Last delivery error", interactive=False)
    passages = gr.Dataframe(headers=PASSAGE_COLUMNS, datatype="str", interactive=False,
                            wrap=True, label="Passages offered to the visitor")
    resolution = gr.Textbox(label="Resolution", interactive=False)
    resend_button = gr.Button("Resend (failed only)", variant="secondary")
    note = gr.Textbox(label="Resolution note", lines=3)
    section = gr.Dropdown(choices=section_choices(service), value=None,
                          label="Policy section that answers it (used for fine-tuning exports)",
                          allow_custom_value=True, elem_id="esc-section")
    resolve_button = gr.Button("Mark resolved", variant="primary")
    message = gr.Textbox(label="Result", interactive=False, elem_id="esc-message")

    def load_queue(choice: str) -> tuple[str, pd.DataFrame]:
        return queue_rows(outbox, choice)

    def load_one(ident: str) -> tuple[Any, ...]:
        return open_escalation(outbox, ident)

    def reload_one(ident: str) -> tuple[Any, ...]:
        return open_escalation(outbox, ident)[:-1]

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row else ""

    def do_resend(ident: str, request: gr.Request) -> str:
        return resend(outbox, ident, getattr(request, "username", "") or "")

    def do_resolve(ident: str, text: str, anchor: str | None, request: gr.Request) -> str:
        known = {a for _, a in section_choices(service)}
        return resolve(outbox, ident, text, anchor, getattr(request, "username", "") or "",
                       known)

    detail = [question, email, state, last_error, esc_id, passages, resolution, message]
    queue = [counts, table]
    for trigger in (refresh.click, status.change):
        trigger(load_queue, status, queue, api_name=False)
    demo.load(load_queue, status, queue, api_name="queue")
    demo.load(lambda: gr.Dropdown(choices=section_choices(service)), None, section,
              api_name="sections")
    table.select(pick, None, esc_id, api_name=False).then(load_one, esc_id, detail,
                                                          api_name=False)
    open_button.click(load_one, esc_id, detail, api_name="open_escalation")
    esc_id.submit(load_one, esc_id, detail, api_name=False)
    for button, fn, inputs, name in ((resend_button, do_resend, [esc_id], "resend"),
                                     (resolve_button, do_resolve, [esc_id, note, section],
                                      "resolve")):
        (button.click(fn, inputs, message, api_name=name)
         .then(reload_one, esc_id, detail[:-1], api_name=False)
         .then(load_queue, status, queue, api_name=False))
