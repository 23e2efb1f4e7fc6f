"""The data behind the console's Escalations tab (wired in ui/web/console/queue.py):
the filtered table with its counts, one escalation's details and audit trail, the
reply link, the CSV export of the filtered list and the groups of similar unresolved
questions. Pure functions of a qa.escalation.inbox.Inbox; errors come back as text.

Visitor text reaches the page only as gr.Dataframe "str" cells and gr.Textbox values,
with one exception: the reply link's href, a mailto: URL whose every part is
percent-encoded (qa/escalation/reply.py) and then HTML-escaped.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from index.errors import PolicyQAError
from qa.escalation.filters import ANYONE, UNASSIGNED, InboxFilter, parse_filter
from qa.escalation.grouping import group_similar
from qa.escalation.inbox import Inbox, InboxItem
from qa.escalation.records import askers
from qa.escalation.reply import mailto
from ui.web.console.exports import write_export

QUEUE_COLUMNS = ["id", "created", "age", "status", "assignee", "first response", "reason",
                 "question", "askers", "last error"]
PASSAGE_COLUMNS = ["document", "section", "quote", "link"]
HISTORY_COLUMNS = ["when", "who", "action", "detail"]
GROUP_COLUMNS = ["asked", "example question", "escalations"]
EXPORT_COLUMNS = ["id", "created", "status", "reason", "assignee", "age seconds",
                  "first response seconds", "question", "askers", "page", "resolved",
                  "resolution note", "resolution section"]
ASSIGNEE_ANYONE, ASSIGNEE_NONE, ASSIGNEE_ME = "anyone", "unassigned", "me"
EXPORT_DIR = "escalations-export"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else ""


def duration(seconds: float | None) -> str:
    """A short human duration: "45 s", "12 min", "3 h 20 min", "2 d 4 h"; "" for None."""
    if seconds is None:
        return ""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def make_filter(status: str, since: str, until: str, text: str, assignee: str,
                user: str) -> InboxFilter:
    who = {ASSIGNEE_ANYONE: ANYONE, ASSIGNEE_NONE: UNASSIGNED, ASSIGNEE_ME: user or ANYONE,
           "": ANYONE, None: ANYONE}.get(assignee, assignee)
    return parse_filter(status, since, until, text, who)


def row(item: InboxItem) -> list[str]:
    e = item.escalation
    return [e.id, when(e.created_at), duration(item.age_seconds), e.status, e.assignee or "",
            duration(item.first_response_seconds), e.reason, e.question,
            ", ".join(askers(e.email)), e.last_error or ""]


def inbox_rows(inbox: Inbox, flt: InboxFilter) -> tuple[str, pd.DataFrame, list[tuple[str, str]]]:
    """(counts line, table, bulk-resolve choices (label, id) of the open items shown)."""
    view = inbox.view(flt)
    table = pd.DataFrame([row(i) for i in view.items], columns=QUEUE_COLUMNS)
    choices = [(f"{i.escalation.id} · {i.escalation.question[:70]}", i.escalation.id)
               for i in view.items if "resolve" in i.actions]
    return f"**{view.summary()}**", table, choices


def history_rows(inbox: Inbox, esc_id: str) -> pd.DataFrame:
    try:
        events = inbox.history(esc_id)
    except PolicyQAError:
        events = []
    return pd.DataFrame([[when(e.at), e.actor, e.action, e.detail] for e in events],
                        columns=HISTORY_COLUMNS)


def reply_html(item: InboxItem | None) -> str:
    if item is None:
        return ""
    link = mailto(item.escalation)
    if link is None:
        return ('<p id="esc-reply">No asker left an e-mail address, so there is no one to '
                "reply to.</p>")
    n = len(askers(item.escalation.email))
    return (f'<p id="esc-reply"><a id="esc-reply-link" href="{html.escape(link, quote=True)}">'
            f"Reply by e-mail to {n} asker{'s' * (n != 1)}</a> (opens your mail client "
            "with the question and the quoted passages)</p>")


def details(inbox: Inbox, esc_id: str) -> dict[str, Any]:
    """Everything the detail panel shows for one escalation (or the error)."""
    try:
        item = inbox.item(esc_id)
    except PolicyQAError as exc:
        return {"error": str(exc), "id": esc_id, "actions": ()}
    e = item.escalation
    state = (f"{e.status}; asked {when(e.created_at)} ({duration(item.age_seconds)} ago); "
             f"{e.attempts} delivery attempt(s) to {e.to}"
             + (f"; sent {when(e.sent_at)}" if e.sent_at else "")
             + (f"; first response after {duration(item.first_response_seconds)}"
                if item.first_response_seconds is not None else "; no response yet")
             + (f"; resolved {when(e.resolved_at)}" if e.resolved_at else ""))
    resolution = (f"{e.resolution_note or ''}\n[section: {e.resolution_section or 'none'}]"
                  if e.status == "resolved" else "")
    return {
        "error": "", "id": e.id, "question": e.question,
        "askers": ", ".join(askers(e.email)) or "(none given)", "state": state,
        "reason": ("the visitor found the answer unhelpful" if e.reason == "unhelpful"
                   else "the policy did not answer it"),
        "page": e.page_url or "(not known)",
        "conversation": "\n".join(f"{n}. {q}" for n, q in enumerate(e.conversation, 1))
                        or "(no earlier questions)",
        "last_error": e.last_error or "", "assignee": e.assignee or "",
        "passages": pd.DataFrame([[p.document.title if p.document else "", p.section,
                                   p.quote, p.url or f"#{p.anchor}"] for p in e.passages],
                                 columns=PASSAGE_COLUMNS),
        "resolution": resolution, "reply": reply_html(item),
        "history": history_rows(inbox, e.id), "actions": item.actions,
    }


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def export_csv(inbox: Inbox, flt: InboxFilter, cache: str | Path) -> Path:
    """The filtered list as CSV in a fresh unguessable folder of the console's gradio
    cache; exports older than EXPORT_SECONDS are removed first (they hold personal data).
    Cells that would start a spreadsheet formula get a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for item in inbox.view(flt, limit=100_000).items:
        e = item.escalation
        writer.writerow([_cell(v) for v in (
            e.id, when(e.created_at), e.status, e.reason, e.assignee, round(item.age_seconds),
            None if item.first_response_seconds is None else round(item.first_response_seconds),
            e.question, ", ".join(askers(e.email)), e.page_url, when(e.resolved_at),
            e.resolution_note, e.resolution_section)])
    return write_export(cache, EXPORT_DIR, "escalations", "csv", out.getvalue(),
                        inbox.clock())


def group_rows(inbox: Inbox, flt: InboxFilter, encode: Callable[[list[str]], np.ndarray],
               threshold: float) -> pd.DataFrame:
    """Similar unresolved questions among the filtered ones, largest group first."""
    items = [i.escalation for i in inbox.view(flt, limit=2000).items]
    groups = group_similar(items, encode, threshold)
    return pd.DataFrame([[str(g.size), g.example, ", ".join(g.ids)] for g in groups],
                        columns=GROUP_COLUMNS)
