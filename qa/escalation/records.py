"""What an escalation is: the frozen `Escalation` and `Claim` records (the passages
it offered are qa.records.Passage, as everywhere), their statuses, turning a stored
row back into a record, and the checks that clean input before it is stored (e-mail
addresses, questions and their dedupe key, notes, sections, offered passages).

Nothing here touches the database; the table itself is in qa/escalation/queries.py.
The public names are also importable, as before, from qa.escalation.outbox.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import idna

from index.errors import EmailError, PolicyQAError, QuestionError
from qa.normalize import question_key
from qa.records import DocumentRef, EscalationRef, Passage

__all__ = [
    "MAX_NOTE_CHARS", "MAX_PASSAGES", "MAX_QUESTION_CHARS", "STATUSES",
    "REASONS", "Claim", "Escalation", "Passage", "check_note", "check_question",
    "check_reason", "check_section", "check_status", "clean_passages", "dedupe_key",
    "from_row", "optional_email", "validate_email",
]

STATUSES = ("queued", "sent", "failed", "resolved")
REASONS = ("unanswered", "unhelpful")
MAX_QUESTION_CHARS = 20_000
MAX_NOTE_CHARS = 10_000
MAX_PASSAGES = 10


@dataclass(frozen=True)
class Escalation:
    """One escalation as stored: the question, who asked, what was offered, and where
    it is in its life (status, attempts, lease, delivery and resolution)."""

    id: str
    question: str
    email: str | None
    passages: tuple[Passage, ...]
    client: str
    to: str
    policy_title: str
    created_at: float
    status: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    last_error: str | None
    sent_at: float | None
    resolved_at: float | None
    resolution_note: str | None
    resolution_section: str | None
    page_url: str | None = None  # the page the visitor was on (validated http(s))
    conversation: tuple[str, ...] = ()  # the visitor's earlier questions, oldest first
    reason: str = "unanswered"  # or "unhelpful": the visitor disliked the answer shown
    assignee: str | None = None  # the console user working on it

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passages"] = [p.to_dict() for p in self.passages]
        data["conversation"] = list(self.conversation)
        return data

    def ref(self) -> EscalationRef:
        """What an Answer carries about it (the Answer JSON's `escalation` field)."""
        return EscalationRef(self.id, self.status, self.to)


@dataclass(frozen=True)
class Claim:
    """A leased escalation: only the holder of `token` may mark it sent/retry/failed."""

    escalation: Escalation
    token: str


# --- pure helpers --------------------------------------------------------------------

_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


def validate_email(addr: str, *, allow_local: bool = False) -> str:
    """Return a safe, normalised address (IDNA domain, lower-cased) or raise EmailError.

    Strict on purpose: one @, an ASCII dot-atom local part, no whitespace, CR/LF,
    control or invisible characters, RFC 5321 length limits. `allow_local` accepts a
    domain without a dot (privacy@localhost) for configured addresses.
    """
    if not isinstance(addr, str):
        raise EmailError(f"e-mail address must be text, not {type(addr).__name__}")
    shown = repr(addr[:80]) + ("…" if len(addr) > 80 else "")

    def bad(reason: str) -> EmailError:
        return EmailError(f"invalid e-mail address {shown}: {reason}")

    if any(unicodedata.category(c)[0] == "C" for c in addr):
        raise bad("it contains control or invisible characters (CR, LF, tab, ...)")
    addr = addr.strip()
    if not addr:
        raise bad("it is empty")
    if any(c.isspace() for c in addr):
        raise bad("it contains whitespace")
    if len(addr) > 254:
        raise bad("it is longer than 254 characters")
    if addr.count("@") != 1:
        raise bad("it must contain exactly one @")
    local, domain = addr.split("@")
    if not local or len(local) > 64:
        raise bad("the part before @ must be 1 to 64 characters")
    if not _LOCAL.match(local):
        raise bad("the part before @ may only use ASCII letters, digits, "
                  "!#$%&'*+/=?^_`{|}~- and single inner dots")
    if "=?" in local:
        raise bad("the part before @ looks like an encoded word (=?...), which mail "
                  "software would decode")
    return f"{local}@{_check_domain(domain, allow_local, bad)}"


def _check_domain(domain: str, allow_local: bool, bad: Callable[[str], EmailError]) -> str:
    try:  # IDNA2008 with UTS 46 mapping: "straße.de" is xn--strae-oqa.de, not strasse.de
        ascii_domain = (domain.lower() if domain.isascii() else
                        idna.encode(domain, uts46=True).decode("ascii")).lower()
    except (idna.IDNAError, UnicodeError):
        raise bad("the domain is not a valid (internationalised) domain name") from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or not all(_LABEL.match(label) for label in labels):
        raise bad("the domain must be dot-separated labels of letters, digits and "
                  "inner hyphens")
    if len(labels) < 2 and not allow_local:
        raise bad("the domain needs a dot, as in example.com")
    if labels[-1].isdigit():
        raise bad("the domain must be a name, not an IP address")
    return ascii_domain


def dedupe_key(question: str) -> str:
    """SHA-256 of the question's `qa.normalize.question_key` (the key the answer cache
    and the analytics group by): equal for questions that differ only in case,
    spacing, Unicode form or closing punctuation."""
    return hashlib.sha256(question_key(question).encode("utf-8")).hexdigest()


def clean_passages(passages: Iterable[Any]) -> tuple[Passage, ...]:
    """Keep only the fields the privacy team needs, from dicts or Hit-like objects."""
    out = []
    for item in list(passages or ())[:MAX_PASSAGES]:
        get = item.get if isinstance(item, Mapping) else lambda k, d=None, o=item: getattr(o, k, d)
        try:
            score = float(get("score", 0.0) or 0.0)
        except (TypeError, ValueError):
            score = 0.0
        out.append(Passage(
            section=str(get("section", "") or "")[:300],
            anchor=str(get("anchor", "") or "")[:200],
            url=str(get("url", "") or "")[:2000],
            quote=str(get("quote", "") or "")[:2000],
            score=score if math.isfinite(score) else 0.0,
            document=_document(get("document")),
        ))
    return tuple(out)


def _document(value: Any) -> DocumentRef | None:
    """The passage's document (a DocumentRef or its dict), its fields trimmed."""
    doc = DocumentRef.from_dict(value if isinstance(value, (DocumentRef, dict)) else None)
    if doc is None:
        return None
    return DocumentRef(doc.id[:200], doc.title[:300], doc.url[:2000])


# --- rows and input checks -----------------------------------------------------------


def from_row(row: Mapping[str, Any]) -> Escalation:
    """The record for one row of the escalations table (an sqlite3.Row)."""
    passages = tuple(Passage(**p) for p in json.loads(row["passages"] or "[]"))
    return Escalation(
        id=row["id"], question=row["question"], email=row["email"], passages=passages,
        client=row["client"], to=row["recipient"], policy_title=row["policy_title"],
        created_at=row["created_at"], status=row["status"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"], lease_until=row["lease_until"],
        last_error=row["last_error"], sent_at=row["sent_at"], resolved_at=row["resolved_at"],
        resolution_note=row["resolution_note"], resolution_section=row["resolution_section"],
        page_url=row["page_url"], conversation=tuple(json.loads(row["conversation"] or "[]")),
        reason=row["reason"], assignee=row["assignee"],
    )


MAX_ASKERS = 20  # addresses kept on one escalation (a shared question from many askers)


def askers(stored: str | None) -> tuple[str, ...]:
    """The reply addresses stored on an escalation, first asker first."""
    return tuple(a.strip() for a in (stored or "").split(",") if a.strip())


def add_asker(stored: str | None, email: str) -> str:
    """`stored` with `email` added: no asker's address is ever replaced or dropped
    (the same question from the same network shares one escalation)."""
    kept = askers(stored)
    if email in kept or len(kept) >= MAX_ASKERS:
        return ", ".join(kept)
    return ", ".join((*kept, email))


def optional_email(email: str | None) -> str | None:
    """None or blank means "not given"; anything else must be a valid address."""
    if email is None or (isinstance(email, str) and not email.strip()):
        return None
    return validate_email(email)


def check_question(question: str) -> tuple[str, str]:
    """(dedupe key, stripped text) of a question, or QuestionError if it is not text,
    too long, not valid Unicode or has no words."""
    if not isinstance(question, str):
        raise QuestionError(f"question must be text, not {type(question).__name__}")
    text = question.strip()
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question is too long: {len(text)} characters "
                            f"(limit {MAX_QUESTION_CHARS})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError("question is not valid Unicode text (lone surrogates)") from None
    if not any(c.isalpha() for c in question_key(text)):
        raise QuestionError("question has no words; please rephrase it")
    return dedupe_key(text), text


def check_status(status: str) -> str:
    """`status` if it is one of STATUSES, else PolicyQAError naming it."""
    if status not in STATUSES:
        raise PolicyQAError(f"unknown status {status!r}; expected queued, sent, failed "
                            "or resolved")
    return status


def check_note(esc_id: str, note: str) -> str:
    """A resolution note, stripped; required and at most MAX_NOTE_CHARS long."""
    note = (note or "").strip()
    if not note:
        raise PolicyQAError(f"a resolution note is required to resolve {esc_id}")
    if len(note) > MAX_NOTE_CHARS:
        raise PolicyQAError(f"resolution note is too long: {len(note)} characters "
                            f"(limit {MAX_NOTE_CHARS})")
    return note


def check_section(section: str | None) -> str | None:
    """A policy section anchor without its '#', or None when blank."""
    if section is None or not section.strip():
        return None
    section = section.strip().lstrip("#")
    if len(section) > 200 or any(c.isspace() or not c.isprintable() for c in section):
        raise PolicyQAError(f"section must be a section anchor like 'how-we-use-data'; "
                            f"got {section[:60]!r}")
    return section


def check_reason(reason: str) -> str:
    """`reason` if it is one of REASONS, else PolicyQAError naming it."""
    if reason not in REASONS:
        raise PolicyQAError(f"unknown escalation reason {reason!r}; expected unanswered or "
                            "unhelpful")
    return reason
