"""The console's "reply": a `mailto:` link that opens the agent's mail client with the
askers as To, the question as the Subject (one line: CR/LF and controls removed) and a
body quoting the question and the passages the visitor was shown. Every part is
percent-encoded (RFC 6068: line breaks as %0D%0A), so nothing in the question can add
a header or break out of the link."""

from __future__ import annotations

from urllib.parse import quote

from index.errors import EmailError
from qa.escalation.mail import one_line, quoted
from qa.escalation.records import Escalation, askers, validate_email

__all__ = ["MAX_BODY_CHARS", "mailto", "reply_body"]

MAX_BODY_CHARS = 1500  # mail clients and browsers cap mailto: URLs; quotes are cut to fit
SUBJECT_CHARS = 120


def _recipients(esc: Escalation) -> list[str]:
    valid = []
    for address in askers(esc.email):
        try:
            valid.append(validate_email(address))
        except EmailError:
            continue
    return valid


def reply_body(esc: Escalation) -> str:
    """The draft: the question quoted, then what the policy says (the passages)."""
    question = quoted(esc.question)
    lines = ["Hello,", "", "Thank you for your question:", "", question, ""]
    if esc.passages:
        lines += ["Our privacy policy says:", ""]
        for p in esc.passages:
            lines.append(f"> {one_line(p.quote, 400)}")
            where = one_line(p.section or p.anchor or "", 120)
            lines += [f"  ({where}{': ' + one_line(p.url, 600) if p.url else ''})", ""]
    body = "\n".join(lines)
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS - 1].rstrip() + "…"
    return body + "\n\n"


def mailto(esc: Escalation) -> str | None:
    """The link, or None when no asker left an address."""
    to = _recipients(esc)
    if not to:
        return None
    subject = "Re: " + one_line(esc.question, SUBJECT_CHARS)
    body = reply_body(esc).replace("\n", "\r\n")
    return ("mailto:" + ",".join(quote(a, safe="@") for a in to)
            + "?subject=" + quote(subject, safe="") + "&body=" + quote(body, safe=""))
