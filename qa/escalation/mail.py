"""One e-mail per escalation (the transports that carry it: qa/escalation/transport.py).

The body says why it came (unanswered, or the visitor found the answer unhelpful), the
question, who asked and from which page, their earlier questions in the chat, the
passages they were shown (no scores) and, with POLICY_QA_PUBLIC_URL, a link to the
escalation in the support console.

`build_message` is pure: the same escalation always gives the same message, down to
the `Message-ID` derived from the escalation id, so a retry after an ambiguous failure
(the server accepted, then the connection timed out) is the same e-mail, which mail
clients dedupe. User text never reaches a header unsanitised: CR/LF, control, bidi
and zero-width characters are removed, lengths are capped, and `email.policy.SMTP`
folds and encodes what remains.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from index.errors import EmailError
from qa.escalation.outbox import Escalation, validate_email
from qa.escalation.records import askers
from qa.normalize import invisible

logger = logging.getLogger(__name__)

MESSAGE_ID_DOMAIN = "policy-qa.invalid"
SUBJECT_QUESTION_CHARS = 60
SUBJECT_TITLE_CHARS = 60
_CONTROLS = {"Cc", "Cs"}  # dropped with what qa.normalize.invisible says is drawn as nothing
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")


# --- text hygiene ------------------------------------------------------------------


def one_line(text: str, limit: int) -> str:
    """A single header-safe line: no CR/LF/controls/invisibles, spaces collapsed, capped."""
    kept = "".join(" " if c.isspace() else c for c in text
                   if c.isspace() or not _dropped(c))
    line = " ".join(kept.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2:]:  # at a word's end, when one is near
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def body_text(text: str) -> str:
    """Multi-line text for the plain-text body: newlines kept, other controls removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return "".join(c for c in text if c == "\n" or not _dropped(c))


def _dropped(char: str) -> bool:
    return unicodedata.category(char) in _CONTROLS or invisible(char)


def quoted(text: str) -> str:
    """A visitor's text in a mail body, each line after "> " (as a reply quotes): it
    cannot pass for the mail's own lines ("Identity: VERIFIED …")."""
    return "\n".join("> " + line for line in body_text(text).split("\n"))


# --- the message -------------------------------------------------------------------


def message_id(esc_id: str) -> str:
    """The stable Message-ID of an escalation's e-mail."""
    local = esc_id if _SAFE_ID.match(esc_id) else hashlib.sha256(esc_id.encode()).hexdigest()
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def console_link(public_url: str, esc_id: str) -> str:
    """Where the escalation opens in the console, or "" without a public URL."""
    if not public_url or not _SAFE_ID.match(esc_id):
        return ""
    return f"{public_url.rstrip('/')}/console/?escalation={esc_id}"


def build_message(esc: Escalation, *, mail_from: str, policy_title: str = "",
                  public_url: str = "") -> EmailMessage:
    """The e-mail for `esc`, from `mail_from`; with `public_url` (the
    POLICY_QA_PUBLIC_URL setting) it links to the escalation in the console."""
    full = policy_title or esc.policy_title or "Privacy Policy"
    # the subject's: "3 documents" for an index of several; the body names them all
    several = re.fullmatch(r"(\d+ documents) \(.*\)", full, re.DOTALL)
    title = one_line(several.group(1) if several else full, SUBJECT_TITLE_CHARS)
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = validate_email(mail_from, allow_local=True)
    msg["To"] = validate_email(esc.to, allow_local=True)
    reply_to = _asker(esc)
    if reply_to:
        msg["Reply-To"] = reply_to
    what = "Unhelpful answer" if esc.reason == "unhelpful" else "Unanswered question"
    msg["Subject"] = _neutral(f"[{title}] {what}: "
                              f"{one_line(esc.question, SUBJECT_QUESTION_CHARS)}")
    msg["Date"] = format_datetime(datetime.fromtimestamp(esc.created_at, UTC))
    msg["Message-ID"] = message_id(esc.id)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Policy-QA-Escalation"] = esc.id if _SAFE_ID.match(esc.id) else "invalid-id"
    msg.set_content(_body(esc, one_line(full, 1000), reply_to,
                          console_link(public_url, esc.id)),
                    charset="utf-8")
    return msg


def _asker(esc: Escalation) -> str | None:
    """Every asker's address (an address list for Reply-To), or None."""
    valid = []
    for address in askers(esc.email):
        try:
            valid.append(validate_email(address))
        except EmailError:
            logger.warning("escalation %s: a stored asker address is invalid; left out",
                           esc.id)
    return ", ".join(valid) or None


def _neutral(header: str) -> str:
    """Stop text that looks like an RFC 2047 encoded word from being decoded as one."""
    return header.replace("=?", "=\u2009?")


def _body(esc: Escalation, title: str, reply_to: str | None, link: str) -> str:
    asked = datetime.fromtimestamp(esc.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    asker = (f"{reply_to} (reply to this e-mail to answer them)" if reply_to
             else "not given, so the asker cannot be answered directly")
    if esc.reason == "unhelpful":
        intro = [f"A visitor asked a question about the {title} and sent it to you",
                 "after reading the assistant's answer."]
        shown = "The visitor found this answer unhelpful:"
    else:
        intro = [f"A question about the {title} could not be answered from the policy",
                 "text; the visitor chose to send it to you."]
        shown = "The closest passages the visitor was shown:"
    lines = [*intro, "", "Question:", quoted(esc.question), "",
             f"Asker's e-mail: {asker}",
             f"Page: {one_line(esc.page_url, 2000) if esc.page_url else 'not known'}", ""]
    if esc.conversation:
        lines += ["Earlier in this conversation the visitor asked:",
                  *(f"  {n}. {one_line(q, 500)}" for n, q in enumerate(esc.conversation, 1)),
                  ""]
    lines += [shown, *passage_lines(esc), ""]
    if link:
        lines += ["Open it in the support console to assign, reply and resolve it:",
                  f"  {link}", ""]
    else:
        lines += [f"Answer and resolve it in the support console (Escalations, {esc.id}).",
                  ""]
    lines += [f"Escalation: {esc.id}", f"Asked at: {asked}"]
    return "\n".join(lines) + "\n"


def passage_lines(esc: Any) -> list[str]:
    """The passages of an escalation (or a rights request): section (after its
    document's title when that is not the policy's own), quote, link."""
    if not esc.passages:
        return ["  (none)"]
    lines: list[str] = []
    policy = getattr(esc, "policy_title", "")
    for n, p in enumerate(esc.passages, 1):
        where = p.section or p.anchor or "section"
        if p.document is not None and p.document.title and p.document.title != policy:
            where = f"{p.document.title}: {where}"  # an index of several documents
        lines.append(f"{n}. {one_line(where, 300)}")
        if p.quote:
            lines.append(f'   "{one_line(p.quote, 1000)}"')
        if p.url:
            lines.append(f"   {one_line(p.url, 2000)}")
    return lines
