"""The console's tabs. Each tab is a pure data function (tested directly and over HTTP)
plus a small builder wiring it to gradio components.

Visitor-supplied text (questions, e-mails, notes) only ever reaches the page through
gr.Dataframe cells of type "str" and gr.Textbox values, which render as text; nothing
user-supplied goes into gr.HTML or gr.Markdown.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import gradio as gr
import pandas as pd

from index.errors import PolicyQAError
from qa.analytics import Analytics
from qa.answer import quote_for
from qa.escalate import STATUSES, Escalation, Outbox
from qa.service import clean_question

log = logging.getLogger(__name__)

QUEUE_COLUMNS = ["id", "created", "status", "attempts", "question", "asker e-mail", "last error"]
PASSAGE_COLUMNS = ["section", "anchor", "score", "quote"]
CANDIDATE_COLUMNS = ["rank", "section", "subsection", "anchor", "fused", "dense", "lexical",
                     "above threshold", "shown to visitor", "best sentence"]
DAY_COLUMNS = ["day", "questions", "resolved", "unresolved"]


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else ""


def _frame(rows: list[list[Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


# --- escalation queue ----------------------------------------------------------------

def queue_rows(outbox: Outbox, status: str = "all") -> tuple[str, pd.DataFrame]:
    """(counts line, table of escalations newest first) for a status or "all"."""
    counts = outbox.counts()
    line = " · ".join(f"{s}: {counts[s]}" for s in STATUSES)
    items = outbox.list(status=None if status in ("", "all", None) else status)
    rows = [[e.id, _when(e.created_at), e.status, e.attempts, e.question, e.email or "",
             e.last_error or ""] for e in items]
    return f"**{sum(counts.values())} escalations** — {line}", _frame(rows, QUEUE_COLUMNS)


def _details(e: Escalation) -> tuple[str, str, str, str, str, pd.DataFrame, str]:
    state = (f"{e.status}; {e.attempts} delivery attempt(s); created {_when(e.created_at)}"
             + (f"; sent {_when(e.sent_at)}" if e.sent_at else "")
             + (f"; resolved {_when(e.resolved_at)}" if e.resolved_at else ""))
    passages = _frame([[p.section, p.anchor, round(p.score, 4), p.quote] for p in e.passages],
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
        return ("", "", "", "", esc_id, _frame([], PASSAGE_COLUMNS), "", str(exc))


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


# --- ask as a visitor ----------------------------------------------------------------

def _verdict(answer: Any, threshold: float, inbox: str, lexical_weight: float) -> str:
    top = answer.confidence
    if answer.kind == "smalltalk":
        return ("Small talk (a greeting or thanks): a fixed friendly reply, no search, "
                "not escalated.")
    if answer.kind == "rephrase":
        return ("None of the question's words is known to the model: the visitor is asked to "
                "rephrase. Not escalated.")
    formula = f"Fused score = dense blend + {lexical_weight:g} × lexical (BM25 scaled to the best)."
    if answer.resolved:
        return (f"RESOLVED: the best passage's fused score {top:.3f} is at or above the "
                f"threshold {threshold:.2f}, so the visitor sees the top passages as quotes. "
                + formula)
    return (f"NOT RESOLVED: the best fused score {top:.3f} is below the threshold "
            f"{threshold:.2f}. The visitor is told the policy does not seem to cover this and "
            f"may forward it to {inbox or '(no inbox configured)'}. " + formula)


def diagnose(service: Any, question: str) -> tuple[str, float, pd.DataFrame, str, str]:
    """(verdict, threshold, every candidate passage, visitor's view, Answer JSON)."""
    threshold = float(service.settings.threshold)
    empty = _frame([], CANDIDATE_COLUMNS)
    try:
        text = clean_question(question, service.settings.max_question_chars)
        answer = service.ask(text)
        hits = service.retriever.retrieve(text, k=10).hits
    except PolicyQAError as exc:
        return f"Not a usable question: {exc}", threshold, empty, "", ""
    searched = answer.kind in ("answer", "unresolved")
    shown = {p.anchor for p in answer.passages} if searched else set()
    rows = [[i, h.chunk.section, h.chunk.subsection or "", h.chunk.anchor, round(h.score, 4),
             round(h.dense, 4), round(h.lexical, 4), "yes" if h.score >= threshold else "no",
             "yes" if h.chunk.anchor in shown else "", quote_for(h)]
            for i, h in enumerate(hits, 1)]
    verdict = _verdict(answer, threshold, service.inbox if answer.kind == "unresolved" else "",
                       service.retriever.weights.lexical)
    payload = json.dumps(answer.to_dict(), indent=2, ensure_ascii=False)
    return verdict, threshold, _frame(rows, CANDIDATE_COLUMNS), answer.answer, payload


def diagnose_tab(service: Any) -> None:
    with gr.Row():
        question = gr.Textbox(label="Question, as a visitor would type it", scale=4,
                              elem_id="diag-question")
        ask = gr.Button("Ask", variant="primary", scale=0)
    verdict = gr.Textbox(label="Why it was or was not resolved", interactive=False, lines=3,
                         elem_id="diag-verdict")
    threshold = gr.Number(label="Threshold", interactive=False)
    candidates = gr.Dataframe(headers=CANDIDATE_COLUMNS, datatype="str", interactive=False,
                              wrap=True, label="Every candidate passage (best first)")
    with gr.Accordion("What the visitor sees", open=True):
        preview = gr.Markdown()
    raw = gr.Code(language="json", label="Answer JSON", interactive=False)
    outputs = [verdict, threshold, candidates, preview, raw]
    ask.click(lambda q: diagnose(service, q), question, outputs, api_name="diagnose")
    question.submit(lambda q: diagnose(service, q), question, outputs, api_name=False)


# --- index status --------------------------------------------------------------------

def index_rows(service: Any, outbox: Outbox | None = None) -> pd.DataFrame:
    """Field/value rows: what is indexed, with which model, when; plus queue counts."""
    try:
        m = service.index.manifest
    except PolicyQAError as exc:
        return _frame([["index", f"not loaded: {exc}"]], ["field", "value"])
    rows = [["policy title", m.get("title", "")], ["last revised", m.get("last_revised") or ""],
            ["policy SHA-256", m.get("policy_sha256", "")], ["model", m.get("model", "")],
            ["dimension", m.get("dimension", "")], ["chunks", m.get("chunks", "")],
            ["retrieval units", m.get("units", "")], ["built at", m.get("built_at", "")],
            ["build seconds", m.get("build_seconds", "")],
            ["policy file", m.get("policy_name", "")],
            ["base URL", m.get("base_url", "")], ["privacy inbox", service.inbox],
            ["package version", m.get("package_version", "")],
            ["index folder", str(service.settings.index)],
            ["threshold", service.settings.threshold], ["top_k", service.settings.top_k]]
    if outbox is not None:
        rows += [[f"escalations {s}", n] for s, n in outbox.counts().items()]
    return _frame([[k, str(v)] for k, v in rows], ["field", "value"])


def index_tab(demo: gr.Blocks, service: Any, outbox: Outbox) -> None:
    table = gr.Dataframe(headers=["field", "value"], datatype="str", interactive=False,
                         wrap=True, label="Index")
    refresh = gr.Button("Refresh")
    refresh.click(lambda: index_rows(service, outbox), None, table, api_name=False)
    demo.load(lambda: index_rows(service, outbox), None, table, api_name="index_status")


# --- analytics -----------------------------------------------------------------------

def analytics_view(analytics: Analytics) -> tuple[str, pd.DataFrame, pd.DataFrame,
                                                  pd.DataFrame, pd.DataFrame]:
    """(resolved-rate line, per-day table, per-day plot data, top unresolved, thumbs-down)."""
    days = analytics.questions_per_day()
    total = sum(t for _, t, _ in days)
    rate = f"**Resolved rate: {analytics.resolved_rate():.1%}** of {total} question(s) " \
           f"in the last 30 days (retention {analytics.retention_days:g} days)."
    per_day = _frame([[d, t, r, t - r] for d, t, r in days], DAY_COLUMNS)
    plot = pd.DataFrame([{"day": d, "outcome": o, "questions": n}
                         for d, t, r in days for o, n in (("resolved", r), ("unresolved", t - r))],
                        columns=["day", "outcome", "questions"])
    top = _frame([[q, c] for q, c in analytics.top_unresolved()], ["question", "times asked"])
    down = _frame([[r["at"], r["question"], r["answer"]] for r in analytics.thumbs_down()],
                  ["when", "question", "answer shown"])
    return rate, per_day, plot, top, down


def analytics_tab(demo: gr.Blocks, analytics: Analytics) -> None:
    refresh = gr.Button("Refresh")
    rate = gr.Markdown()
    plot = gr.BarPlot(x="day", y="questions", color="outcome", label="Questions per day")
    per_day = gr.Dataframe(headers=DAY_COLUMNS, datatype="str", interactive=False,
                           label="Questions per day")
    top = gr.Dataframe(headers=["question", "times asked"], datatype="str", interactive=False,
                       wrap=True, label="Most frequent unresolved questions",
                       elem_id="top-unresolved")
    down = gr.Dataframe(headers=["when", "question", "answer shown"], datatype="str",
                        interactive=False, wrap=True, label="Thumbs-down answers")

    def load() -> tuple[Any, ...]:
        r, d, p, t, w = analytics_view(analytics)
        return r, p, d, t, w

    outputs = [rate, plot, per_day, top, down]
    refresh.click(load, None, outputs, api_name=False)
    demo.load(load, None, outputs, api_name="analytics")
