"""The console's Escalations tab, an inbox agents work: filters (status, date range,
text, assignee) with counts that follow them, the table with each item's age and
time to first response, one escalation with its page, earlier questions, passages,
reply link and audit trail, the actions its state offers (assign, "I replied",
resolve, resend, reopen), bulk resolve, CSV export of the filtered list and groups of
similar unresolved questions. The data functions are in ui/web/console/inbox.py; this
module only wires them to gradio components, acting as the signed-in console user.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
import pandas as pd

from index.errors import PolicyQAError
from qa.escalation.filters import STATUS_CHOICES
from qa.escalation.grouping import DEFAULT_THRESHOLD
from qa.escalation.inbox import Inbox
from qa.escalation.outbox import Outbox
from ui.web.console import inbox as data

log = logging.getLogger(__name__)

__all__ = ["queue_tab", "section_choices"]


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


def _user(request: gr.Request | None) -> str:
    return getattr(request, "username", "") or "console"


def _known_section(service: Any, section: str | None) -> str | None:
    """An error line if `section` is not one of the index's anchors."""
    if section and section not in {a for _, a in section_choices(service)}:
        return f"unknown section {section[:80]!r}; pick one from the list"
    return None


def queue_tab(demo: gr.Blocks, service: Any, outbox: Outbox, agents: list[str]) -> None:
    inbox = Inbox(outbox)
    with gr.Row():
        status = gr.Dropdown(list(STATUS_CHOICES), value="open", label="Status",
                             elem_id="f-status", scale=1)
        since = gr.Textbox(label="From (YYYY-MM-DD, UTC)", elem_id="f-since", scale=1)
        until = gr.Textbox(label="To (YYYY-MM-DD, UTC)", elem_id="f-until", scale=1)
        text = gr.Textbox(label="Search question, e-mail or id", elem_id="f-text", scale=2)
        who = gr.Dropdown([data.ASSIGNEE_ANYONE, data.ASSIGNEE_NONE, data.ASSIGNEE_ME, *agents],
                          value=data.ASSIGNEE_ANYONE, label="Assigned to", elem_id="f-who",
                          scale=1)
        refresh = gr.Button("Apply / refresh", scale=0, elem_id="f-apply")
    counts = gr.Markdown(elem_id="queue-counts")
    applied = gr.State(None)  # the filter of the list shown: what export and grouping take
    table = gr.Dataframe(headers=data.QUEUE_COLUMNS, datatype="str", interactive=False,
                         wrap=True, label="Escalations, newest first (click a row to open it)",
                         elem_id="queue-table",
                         column_widths=["11%", "10%", "7%", "6%", "7%", "7%", "7%", "25%",
                                        "12%", "8%"])
    with gr.Row():
        export = gr.Button("Export the filtered list (CSV)", scale=0, elem_id="queue-export")
        # hidden until there is a file: gradio's empty placeholder fails axe
        # (aria-label on a role-less div)
        export_file = gr.File(label="CSV export", interactive=False, visible=False,
                              elem_id="queue-export-file")
    with gr.Accordion("Resolve several", open=False, elem_id="bulk"):
        picked = gr.CheckboxGroup(choices=[], label="Open escalations in the list",
                                  elem_id="bulk-pick")
        bulk_note = gr.Textbox(label="Resolution note for all of them", lines=2,
                               elem_id="bulk-note")
        bulk_section = gr.Dropdown(choices=section_choices(service), value=None,
                                   label="Policy section that answers them",
                                   allow_custom_value=True, elem_id="bulk-section")
        bulk_go = gr.Button("Resolve selected", variant="primary", elem_id="bulk-resolve")
        bulk_result = gr.Textbox(label="Bulk result", interactive=False, elem_id="bulk-result")
    with gr.Accordion("Similar unresolved questions (what the policy is missing)",
                      open=False, elem_id="groups"):
        group_go = gr.Button("Group the listed unresolved questions", elem_id="group-go")
        groups = gr.Dataframe(headers=data.GROUP_COLUMNS, datatype="str", interactive=False,
                              wrap=True, label="Groups, largest first", elem_id="group-table")

    gr.Markdown("### Escalation")
    with gr.Row():
        esc_id = gr.Textbox(label="Escalation id", scale=3, elem_id="esc-id")
        open_button = gr.Button("Open", scale=0, elem_id="esc-open")
    question = gr.Textbox(label="Question", interactive=False, lines=2, elem_id="esc-question")
    with gr.Row():
        email = gr.Textbox(label="Askers' e-mail", interactive=False, elem_id="esc-askers")
        reason = gr.Textbox(label="Why it came", interactive=False, elem_id="esc-reason")
    state = gr.Textbox(label="Status, age and response", interactive=False, elem_id="esc-state")
    with gr.Row():
        page = gr.Textbox(label="Page the visitor was on", interactive=False,
                          elem_id="esc-page")
        last_error = gr.Textbox(label="Last delivery error", interactive=False)
    conversation = gr.Textbox(label="Earlier questions in the conversation", lines=2,
                              interactive=False, elem_id="esc-conversation")
    passages = gr.Dataframe(headers=data.PASSAGE_COLUMNS, datatype="str", interactive=False,
                            wrap=True, label="Passages the visitor was shown")
    resolution = gr.Textbox(label="Resolution", interactive=False, elem_id="esc-resolution")
    reply = gr.Markdown(elem_id="esc-reply-box")  # gr.HTML needs unsafe-eval (CSP)
    with gr.Row():
        assignee = gr.Dropdown(["", *agents], value="", label="Assign to", elem_id="esc-assignee",
                               scale=2)
        assign_button = gr.Button("Assign", scale=0, elem_id="esc-assign", visible=False)
        replied_button = gr.Button("I replied to the asker", scale=0, elem_id="esc-replied",
                                   visible=False)
        resend_button = gr.Button("Resend", scale=0, elem_id="esc-resend", visible=False)
        reopen_button = gr.Button("Reopen", scale=0, elem_id="esc-reopen", visible=False)
    note = gr.Textbox(label="Resolution note", lines=3, elem_id="esc-note", visible=False)
    section = gr.Dropdown(choices=section_choices(service), value=None,
                          label="Policy section that answers it (used for fine-tuning exports)",
                          allow_custom_value=True, elem_id="esc-section", visible=False)
    resolve_button = gr.Button("Mark resolved", variant="primary", elem_id="esc-resolve",
                               visible=False)
    message = gr.Textbox(label="Result", interactive=False, elem_id="esc-message")
    history = gr.Dataframe(headers=data.HISTORY_COLUMNS, datatype="str", interactive=False,
                           wrap=True, label="Audit trail (who did what, when)",
                           elem_id="esc-history")

    filters = [status, since, until, text, who]
    listing = [counts, table, picked, applied]
    panel = [esc_id, question, email, reason, state, page, last_error, conversation, passages,
             resolution, reply, history, assignee, assign_button, replied_button,
             resend_button, reopen_button, note, section, resolve_button]

    def load_queue(s: str, a: str, b: str, t: str, w: str, request: gr.Request) -> tuple:
        try:
            flt = data.make_filter(s, a, b, t, w, _user(request))
        except PolicyQAError as exc:
            return f"**Filter not applied:** {exc}", gr.update(), gr.update(), gr.update()
        line, frame, choices = data.inbox_rows(inbox, flt)
        return line, frame, gr.update(choices=choices, value=[]), (s, a, b, t, w)

    def shown_filter(values: tuple | None, request: gr.Request) -> Any:
        """The filter of the list on screen (not what is typed but not yet applied)."""
        return data.make_filter(*(values or ("open", "", "", "", data.ASSIGNEE_ANYONE)),
                                _user(request))

    def show(ident: str, clear: bool = False) -> tuple:
        """The panel of escalation `ident`; `clear` empties the resolution form (a note
        typed for one escalation must not be saved on the next one opened)."""
        d = data.details(inbox, ident)
        blank = {"value": ""} if clear else {}
        acts = d["actions"]
        if d["error"]:
            empty = pd.DataFrame([], columns=data.PASSAGE_COLUMNS)
            hidden = [gr.update(visible=False)] * 4
            return (ident, "", "", "", "", "", "", "", empty, "", "",
                    pd.DataFrame([], columns=data.HISTORY_COLUMNS), "", *hidden,
                    gr.update(visible=False, **blank),
                    gr.update(visible=False, **({"value": None} if clear else {})),
                    gr.update(visible=False))
        return (d["id"], d["question"], d["askers"], d["reason"], d["state"], d["page"],
                d["last_error"], d["conversation"], d["passages"], d["resolution"], d["reply"],
                d["history"], gr.update(value=d["assignee"]),
                gr.update(visible="assign" in acts), gr.update(visible="reply" in acts),
                gr.update(visible="resend" in acts), gr.update(visible="reopen" in acts),
                gr.update(visible="resolve" in acts, **blank),
                gr.update(visible="resolve" in acts, **({"value": None} if clear else {})),
                gr.update(visible="resolve" in acts))

    def load_one(ident: str) -> tuple:
        if not (ident or "").strip():
            return (*show("", clear=True), "")
        return (*show(ident, clear=True), data.details(inbox, ident)["error"])

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row else ""

    def act(fn: Any, done: str, ident: str, *args: Any, request: gr.Request) -> str:
        try:
            esc = fn((ident or "").strip(), *args, _user(request))
        except PolicyQAError as exc:
            return str(exc)
        log.info("escalation %s %s by %s", esc.id, done, _user(request))
        return f"{esc.id} {done}."

    def do_assign(ident: str, agent: str | None, request: gr.Request) -> str:
        done = f"assigned to {agent}" if agent else "unassigned"
        return act(inbox.assign, done, ident, agent, request=request)

    def do_replied(ident: str, request: gr.Request) -> str:
        return act(inbox.replied, "marked as replied", ident, request=request)

    def do_resend(ident: str, request: gr.Request) -> str:
        return act(inbox.resend, "is queued again for delivery", ident, request=request)

    def do_reopen(ident: str, request: gr.Request) -> str:
        return act(inbox.reopen, "reopened", ident, request=request)

    def do_resolve(ident: str, text_: str, anchor: str | None, request: gr.Request) -> tuple:
        bad = _known_section(service, anchor)
        if bad:
            return bad, gr.update(), gr.update()
        try:
            esc = inbox.resolve(ident, text_, anchor or None, _user(request))
        except PolicyQAError as exc:
            return str(exc), gr.update(), gr.update()
        log.info("escalation %s resolved by %s", esc.id, _user(request))
        where = f" (section {esc.resolution_section})" if esc.resolution_section else ""
        return f"{esc.id} marked resolved{where}.", "", None  # clear the note and section

    def do_bulk(ids: list[str], text_: str, anchor: str | None, request: gr.Request) -> tuple:
        bad = _known_section(service, anchor)
        if bad:
            return bad, gr.update(), gr.update()
        try:
            result = inbox.resolve_many(ids or [], text_, anchor or None, _user(request))
        except PolicyQAError as exc:
            return str(exc), gr.update(), gr.update()
        log.info("%d escalations resolved together by %s", len(result.resolved),
                 _user(request))
        line = f"{len(result.resolved)} escalation(s) resolved."
        if result.skipped:
            line += " Not resolved: " + "; ".join(result.skipped)
        return line, "", None

    def do_export(values: tuple | None, request: gr.Request) -> Any:
        try:
            flt = shown_filter(values, request)
        except PolicyQAError:
            return gr.update(value=None, visible=False)
        path = data.export_csv(inbox, flt, export_file.GRADIO_CACHE)
        log.info("escalations exported as CSV by %s", _user(request))
        return gr.update(value=str(path), visible=True)

    def do_group(values: tuple | None, request: gr.Request) -> pd.DataFrame:
        try:
            flt = shown_filter(values, request)
        except PolicyQAError:
            return pd.DataFrame([], columns=data.GROUP_COLUMNS)
        return data.group_rows(inbox, flt, service.embedder.encode, DEFAULT_THRESHOLD)

    for trigger in (refresh.click, status.change, who.change, text.submit, since.submit,
                    until.submit):
        trigger(load_queue, filters, listing, api_name=False)
    demo.load(load_queue, filters, listing, api_name="queue")
    demo.load(lambda: (gr.Dropdown(choices=section_choices(service)),) * 2, None,
              [section, bulk_section], api_name="sections")
    table.select(pick, None, esc_id, api_name=False).then(load_one, esc_id, [*panel, message],
                                                          api_name=False)
    open_button.click(load_one, esc_id, [*panel, message], api_name="open_escalation")
    esc_id.submit(load_one, esc_id, [*panel, message], api_name=False)

    def after(event: Any) -> None:
        event.then(show, esc_id, panel, api_name=False).then(load_queue, filters, listing,
                                                             api_name=False)

    after(assign_button.click(do_assign, [esc_id, assignee], message,
                              api_name="assign"))
    after(replied_button.click(do_replied, [esc_id], message,
                               api_name="replied"))
    after(resend_button.click(do_resend, [esc_id],
                              message, api_name="resend"))
    after(reopen_button.click(do_reopen, [esc_id], message,
                              api_name="reopen"))
    after(resolve_button.click(do_resolve, [esc_id, note, section], [message, note, section],
                               api_name="resolve"))
    after(bulk_go.click(do_bulk, [picked, bulk_note, bulk_section],
                        [bulk_result, bulk_note, bulk_section], api_name="resolve_many"))
    export.click(do_export, applied, export_file, api_name="export_escalations_csv")
    group_go.click(do_group, applied, groups, api_name="group_similar")
    demo.load(_open_from_link, None, [esc_id], api_name=False).then(
        load_one, esc_id, [*panel, message], api_name=False)


def _open_from_link(request: gr.Request) -> str:
    """The mail's console link is /console/?escalation=ID: open that one."""
    params = getattr(request, "query_params", None) or {}
    return str(params.get("escalation", ""))[:64]
