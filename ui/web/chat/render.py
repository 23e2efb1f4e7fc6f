"""HTML for the public chat: escaped user text, answers as quotes with section links.

Everything a visitor sees is built here from the policy's own words (escaped) or from
the fixed templates of qa/answering/answer.py and the few below; user text is escaped for both
HTML and Markdown before it is echoed, so `<script>` shows as text.
"""

from __future__ import annotations

import html
import math
from dataclasses import replace

from qa.answering.answer import CLOSEST
from qa.answering.lead import lead_above
from qa.answering.relevance import shown
from qa.records import Answer, Passage
from ui.web.chat.page import CHAT_HEAD, WIDGET_CSS  # noqa: F401 - app.py takes them here

REPLY_INVITE = ("If you would like a reply, leave your e-mail address below (optional); "
                "it is only used to answer this question.")
EMAIL_SAVED = "Thank you. The privacy team will reply to {email}."
EMAIL_TOO_LATE = ("Your question has already been sent to {to}. To add your e-mail "
                  "address, please write to {to} directly and mention reference {id}.")
SENT_TO_TEAM = "I have forwarded your question to {to} (reference {id})."
NOT_SENT = "Sorry, I could not forward your question right now: {reason}"
SLOW_DOWN = "You are asking very quickly. Please wait {wait} and try again."
ERROR = "Sorry, I could not answer that: {reason}"
TYPING = ('<div class="pqa-typing"><span class="pqa-dots" aria-hidden="true"><span></span>'
          '<span></span><span></span></span> Looking this up in the privacy policy\u2026</div>')

# what a Markdown renderer could read as markup or a link (":" and "@" start GFM's
# autolinks of URLs and addresses, "$" gradio's LaTeX), written as numeric character
# references, which Markdown shows as the characters and never interprets
_MARKUP = frozenset("\\`*_{}[]()#+-.!|~:@$=^")


# an address the visitor typed that is no address: the reason (IDNA labels, lengths) is
# for logs and the API, not for a visitor
BAD_EMAIL = ("That does not look like an e-mail address. Please check it, for example "
             "name@example.com.")


def escape_user(text: str) -> str:
    """User text for a Markdown+HTML renderer: shows literally, never as markup or a
    link (a backslash escape would do for markup, but not inside an autolinked URL,
    where the backslashes would show: "koreroapp\\.com")."""
    return "".join(f"&#{ord(c)};" if c in _MARKUP else html.escape(c, quote=True)
                   for c in text)


def _p(text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<p{attr}>{html.escape(text)}</p>"


def quote_html(p: Passage, show_document: bool = False) -> str:
    """One verbatim quote; the section name links to the quoted sentence (text fragment).
    In an index of several documents the document's title follows the link."""
    link = (f'<a href="{html.escape(p.url, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{html.escape(p.section)}</a>')
    if show_document and p.document is not None and p.document.title:
        link += f' <span class="pqa-doc">\u00b7 {html.escape(p.document.title)}</span>'
    return (f'<blockquote class="pqa-quote"><p>\u201c{html.escape(p.quote)}\u201d</p>'
            f'<p class="pqa-source">\u2014 {link}</p></blockquote>')


def render_answer(answer: Answer, *, show_documents: bool = False) -> str:
    """An Answer as the chat shows it (with each quote's document title when the index
    has several documents): lead sentence(s), then the quotes within a
    margin of the best one and on the question's topic (qa/answering/relevance.py);
    never scores."""
    passages = as_shown(answer).passages
    parts = [_lead(answer, passages[0].quote if passages and answer.resolved else "")]
    if answer.escalation:
        parts.append(_p(REPLY_INVITE))
    if passages:
        if not answer.resolved:
            parts.append(_p(CLOSEST))
        parts.extend(quote_html(p, show_documents) for p in passages)
    return _wrap(parts)


def as_shown(answer: Answer) -> Answer:
    """`answer` with only the passages the chat shows: what a hand-off from the chat
    records as shown to the visitor (the mail and the console say so)."""
    return replace(answer, passages=shown(answer.passages, answer.question,
                                          resolved=answer.resolved))


def _lead(answer: Answer, first_quote: str = "") -> str:
    """The lead line, not repeating the `first_quote` shown under it; an escalation's
    reference id set apart (it is read out, copied)."""
    esc = answer.escalation
    if esc is None:
        return _p(lead_above(answer.lead, first_quote) if first_quote else answer.lead)
    before, _, after = answer.lead.partition(esc.id)
    ref = f'<span class="pqa-ref">{html.escape(esc.id)}</span>'
    return f"<p>{html.escape(before)}{ref}{html.escape(after)}</p>"


def seconds(n: float) -> str:
    """"1 second", "30 seconds" (a wait, rounded up)."""
    whole = max(1, math.ceil(n))
    return f"{whole} second" if whole == 1 else f"{whole} seconds"


def render_notice(template: str, **values: object) -> str:
    """A fixed template with escaped values, as one chat message."""
    return _wrap([_p(template.format(**{k: str(v) for k, v in values.items()}))])


def _wrap(parts: list[str]) -> str:
    return '<div class="pqa-answer">' + "".join(parts) + "</div>"


def plain_text(answer: Answer) -> str:
    """The answer as stored with feedback: the lead and the quotes, no markup."""
    quotes = [f"\u201c{p.quote}\u201d \u2014 {p.section}" for p in answer.passages]
    return "\n".join([answer.lead, *quotes])
