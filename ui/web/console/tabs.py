"""The console's read-only tabs: ask as a visitor (diagnostics), index status and
analytics; the escalation queue is in ui/web/console/queue.py. Each tab is a pure data
function (tested directly and over HTTP) plus a small builder wiring it to gradio
components.

Visitor-supplied text (questions, e-mails, notes) only ever reaches the page through
gr.Dataframe cells of type "str" and gr.Textbox values, which render as text; nothing
user-supplied goes into gr.HTML or gr.Markdown.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pandas as pd

from index.errors import PolicyQAError
from qa.analytics import Analytics
from qa.answering.amounts import KIND_WORDS
from qa.answering.answer import amount_missing, quote_for
from qa.answering.retrieve import CONFIDENCE
from qa.escalation.outbox import Outbox
from qa.records import Kind
from qa.service import clean_question

CANDIDATE_COLUMNS = ["rank", "section", "subsection", "anchor", "score", "dense", "lexical",
                     "late", "above threshold", "shown to visitor", "best sentence"]
DAY_COLUMNS = ["day", "questions", "resolved", "unresolved"]


def frame(rows: list[list[Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


# --- ask as a visitor ----------------------------------------------------------------

def _rule_text(rule: dict[str, Any]) -> str:
    """How this index decides resolved/unresolved (Service.decision), in a few sentences."""
    also = "".join(f" Also {r}." for r in rule.get("rules", []))
    if rule.get("method") == "answerability":
        return (f"Decided by the answerability model ({rule.get('fitted', '')}): features "
                f"{', '.join(rule.get('features', []))}, each measured against what this "
                f"index gives questions no policy answers.{also}")
    return (f"Decided by the best passage's score against the threshold setting, fused as "
            f"the threshold was calibrated: dense blend + {CONFIDENCE.lexical:g} × lexical (BM25 "
            f"scaled to the best); the ranking may weigh the signals differently.{also}")


def _verdict(answer: Any, rule: dict[str, Any], inbox: str) -> str:
    if answer.kind == Kind.SMALLTALK:
        return ("Small talk (a greeting or thanks): a fixed friendly reply, no search, "
                "not escalated.")
    if answer.kind == Kind.REPHRASE:
        return ("None of the question's words is known to the model: the visitor is asked to "
                "rephrase. Not escalated.")
    threshold = float(rule["threshold"])
    what = ("the probability that the policy answers it" if rule.get("method") == "answerability"
            else "the best passage's fused score")
    how = _rule_text(rule)
    if answer.resolved and answer.confidence < threshold:
        return (f"RESOLVED: {what}, {answer.confidence:.3f}, is below the threshold "
                f"{threshold:.2f}, but a sentence of the best quote answers the yes/no "
                f"question directly (the lead), so the visitor sees the top passages as "
                f"quotes. " + how)
    if answer.resolved:
        return (f"RESOLVED: {what}, {answer.confidence:.3f}, is at or above the threshold "
                f"{threshold:.2f}, so the visitor sees the top passages as quotes. " + how)
    missing = amount_missing(answer)  # what the lead told the visitor (answer.py)
    if missing and answer.confidence >= threshold:
        return (f"NOT RESOLVED: {what}, {answer.confidence:.3f}, is at or above the threshold "
                f"{threshold:.2f}, but the question asks for {KIND_WORDS[missing]} and none "
                f"of the quotes gives one. The visitor is told the policy does not seem to "
                f"give it and may forward the question to "
                f"{inbox or '(no inbox configured)'}. " + how)
    return (f"NOT RESOLVED: {what}, {answer.confidence:.3f}, is below the threshold "
            f"{threshold:.2f}. The visitor is told the policy does not seem to cover this and "
            f"may forward it to {inbox or '(no inbox configured)'}. " + how)


def diagnose(service: Any, question: str) -> tuple[str, float, pd.DataFrame, str, str]:
    """(verdict, threshold, every candidate passage, visitor's view, Answer JSON). The
    threshold is the decision's (Service.decision): on the answerability probability, or
    on the fused score; "above threshold" compares a passage's fused score only in the
    latter case."""
    rule = service.decision
    threshold = float(rule["threshold"])
    by_score = rule.get("method") != "answerability"
    empty = frame([], CANDIDATE_COLUMNS)
    try:
        text = clean_question(question, service.settings.max_question_chars)
        answer = service.ask(text)
        hits = service.retriever.retrieve(text, k=10).hits
    except PolicyQAError as exc:
        return f"Not a usable question: {exc}", threshold, empty, "", ""
    searched = answer.kind in (Kind.ANSWER, Kind.UNRESOLVED)
    shown = {p.anchor for p in answer.passages} if searched else set()
    rows = [[i, h.chunk.section, h.chunk.subsection or "", h.chunk.anchor, round(h.score, 4),
             round(h.dense, 4), round(h.lexical, 4),
             "" if h.late is None else round(h.late, 4),  # late interaction (candidates)
             ("yes" if h.sure >= threshold else "no") if by_score else "n/a",
             "yes" if h.chunk.anchor in shown else "", quote_for(h)]
            for i, h in enumerate(hits, 1)]
    verdict = _verdict(answer, rule, service.inbox if answer.kind == Kind.UNRESOLVED else "")
    payload = json.dumps(answer.to_dict(), indent=2, ensure_ascii=False)
    return verdict, threshold, frame(rows, CANDIDATE_COLUMNS), answer.answer, payload


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
        return frame([["index", f"not loaded: {exc}"]], ["field", "value"])
    rows = [["policy title", m.get("title", "")], ["last revised", m.get("last_revised") or ""],
            ["policy SHA-256", m.get("policy_sha256", "")], ["model", m.get("model", "")],
            ["dimension", m.get("dimension", "")], ["chunks", m.get("chunks", "")],
            ["retrieval units", m.get("units", "")], ["built at", m.get("built_at", "")],
            ["build seconds", m.get("build_seconds", "")],
            ["policy file", m.get("policy_name", "")],
            ["base URL", m.get("base_url", "")], ["privacy inbox", service.inbox],
            ["package version", m.get("package_version", "")],
            ["index folder", str(service.settings.index)],
            *decision_rows(service.decision), ["top_k", service.settings.top_k]]
    documents = service.index.documents
    if len(documents) > 1:  # one row per document, not the first one's rows
        rows = [["documents", len(documents)],
                *[[f"document {d.id}", _document_line(d)] for d in documents],
                *[r for r in rows if r[0] not in _ONE_DOCUMENT_ROWS]]
    if outbox is not None:
        rows += [[f"escalations {s}", n] for s, n in outbox.counts().items()]
    return frame([[k, str(v)] for k, v in rows], ["field", "value"])


_ONE_DOCUMENT_ROWS = frozenset({"policy title", "last revised", "policy SHA-256",
                                "policy file", "base URL"})


def _document_line(doc: Any) -> str:
    """One document of an index: title, revision, chunks, where it is published, its file."""
    parts = [doc.title, f"last revised {doc.last_revised}" if doc.last_revised else "",
             f"{doc.chunks} chunks", doc.url or "no page URL", doc.name]
    return " \u00b7 ".join(p for p in parts if p)


def decision_rows(rule: dict[str, Any]) -> list[list[Any]]:
    """The index-status rows saying how resolved/unresolved is decided and fitted."""
    rows = [["resolved/unresolved by", rule.get("method", "")],
            ["decision threshold", rule.get("threshold", "")],
            ["decision fitted", rule.get("fitted", "")]]
    stats = rule.get("stats")
    if stats:
        scale = ", ".join(f"{n} {m:.3f}" for n, m in zip(stats["names"], stats["mean"],
                                                         strict=True))
        rows.append(["this index's scale (bank means)", scale])
    return rows


def index_tab(demo: gr.Blocks, service: Any, outbox: Outbox) -> None:
    table = gr.Dataframe(headers=["field", "value"], datatype="str", interactive=False,
                         wrap=True, label="Index", elem_id="index-table", max_height=2000,
                         column_widths=["25%", "75%"])  # every row shown, values wrapped
    refresh = gr.Button("Refresh")
    refresh.click(lambda: index_rows(service, outbox), None, table, api_name=False)
    demo.load(lambda: index_rows(service, outbox), None, table, api_name="index_status")


# --- analytics -----------------------------------------------------------------------

def analytics_view(analytics: Analytics) -> tuple[str, pd.DataFrame, pd.DataFrame,
                                                  pd.DataFrame]:
    """(resolved-rate line, per-day table, top unresolved, thumbs-down). No chart: gradio's
    plots compile vega expressions with eval, which the console's CSP refuses."""
    days = analytics.questions_per_day()
    total = sum(t for _, t, _ in days)
    rate = f"**Resolved rate: {analytics.resolved_rate():.1%}** of {total} question(s) " \
           f"in the last 30 days (retention {analytics.retention_days:g} days)."
    per_day = frame([[d, t, r, t - r] for d, t, r in days], DAY_COLUMNS)
    top = frame([[q, c] for q, c in analytics.top_unresolved()], ["question", "times asked"])
    down = frame([[r["at"], r["question"], r["answer"]] for r in analytics.thumbs_down()],
                  ["when", "question", "answer shown"])
    return rate, per_day, top, down


def analytics_tab(demo: gr.Blocks, analytics: Analytics, requests: Any = None) -> None:
    """With `requests` (a qa.rights.store.RequestStore) also a "Privacy requests"
    table: requests by kind and the on-time rate."""
    refresh = gr.Button("Refresh")
    rate = gr.Markdown()
    per_day = gr.Dataframe(headers=DAY_COLUMNS, datatype="str", interactive=False,
                           label="Questions per day")
    top = gr.Dataframe(headers=["question", "times asked"], datatype="str", interactive=False,
                       wrap=True, label="Most frequent unresolved questions",
                       elem_id="top-unresolved")
    down = gr.Dataframe(headers=["when", "question", "answer shown"], datatype="str",
                        interactive=False, wrap=True, label="Thumbs-down answers")

    def load() -> tuple[Any, ...]:
        return analytics_view(analytics)

    outputs = [rate, per_day, top, down]
    refresh.click(load, None, outputs, api_name=False)
    demo.load(load, None, outputs, api_name="analytics")
    if requests is not None:
        from ui.web.console.requests import SUMMARY_COLUMNS, summary_rows

        with gr.Accordion("Privacy requests", open=True):
            on_time = gr.Markdown(elem_id="requests-on-time")
            by_kind = gr.Dataframe(headers=SUMMARY_COLUMNS, datatype="str",
                                   interactive=False, label="Privacy requests by kind",
                                   elem_id="requests-by-kind")
        summary = [on_time, by_kind]
        refresh.click(lambda: summary_rows(requests), None, summary, api_name=False)
        demo.load(lambda: summary_rows(requests), None, summary, api_name="request_counts")
