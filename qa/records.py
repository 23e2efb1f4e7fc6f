"""The records that flow through policy-qa, from retrieval to the chat, the API, the
e-mail and the evaluation: one `Passage`, one `Answer`, its `Kind`, and the
`EscalationRef` an answer carries once its question was handed to the outbox.

They are frozen and hold no behaviour beyond their JSON form (the DESIGN.md Answer
contract); the answer text is composed in qa/answering/answer.py, the HTML in
ui/web/chat/render.py, the mail in qa/escalation/mail.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Answer", "DocumentRef", "EscalationRef", "Kind", "Passage", "RequestRef"]


class Kind(StrEnum):
    """What an answer is (a StrEnum: it compares equal to its value, and is stored so)."""

    ANSWER = "answer"  # the policy answers: resolved
    UNRESOLVED = "unresolved"  # a question the policy does not seem to answer
    SMALLTALK = "smalltalk"  # a greeting or thanks, answered with a fixed reply
    REPHRASE = "rephrase"  # not a question we could read
    REQUEST = "request"  # asks to exercise a privacy right: offered as a request


@dataclass(frozen=True)
class DocumentRef:
    """The document a passage comes from: its id (labels name `id#anchor`), its title
    and the page it is published at ("" when unknown)."""

    id: str
    title: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "url": self.url}

    @classmethod
    def from_dict(cls, data: Any) -> DocumentRef | None:
        if isinstance(data, DocumentRef) or data is None:
            return data
        if not isinstance(data, dict):
            return None
        return cls(str(data.get("id", "")), str(data.get("title", "")), str(data.get("url", "")))


@dataclass(frozen=True)
class Passage:
    """A verbatim quote of the policy and where it is: the section's title, the anchor
    a link lands on, the link itself (page URL, anchor, text fragment), the score
    that ranked it and the document it is from (None for a baseline's or a stored
    passage that did not keep it)."""

    section: str
    anchor: str
    url: str
    quote: str
    score: float
    document: DocumentRef | None = None

    def __post_init__(self) -> None:  # a stored passage's document is a dict
        object.__setattr__(self, "document", DocumentRef.from_dict(self.document))

    def to_dict(self) -> dict[str, Any]:
        row = {"section": self.section, "anchor": self.anchor, "url": self.url,
               "quote": self.quote, "score": self.score}
        if self.document is not None:
            row["document"] = self.document.to_dict()
        return row

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(str(data["section"]), str(data["anchor"]), str(data["url"]),
                   str(data["quote"]), float(data["score"]), data.get("document"))


@dataclass(frozen=True)
class EscalationRef:
    """The Answer JSON's `escalation`: which escalation, where it is, whom it goes to."""

    id: str
    status: str
    to: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status, "to": self.to}


@dataclass(frozen=True)
class RequestRef:
    """The Answer JSON's `request`: the privacy right a message asks to exercise
    (`kind`), and once the visitor submitted it, its reference, state and due date."""

    kind: str
    id: str | None = None
    status: str | None = None
    due: str | None = None  # ISO date the team must respond by

    def to_dict(self) -> dict[str, str]:
        if self.id is None:
            return {"kind": self.kind}
        return {"id": self.id, "kind": self.kind, "status": self.status or "",
                "due": self.due or ""}


@dataclass(frozen=True)
class Answer:
    """`lead` is the answer's opening line(s) (a fixed template); `answer` is the whole
    text in Markdown (the lead, then the quotes), as the contract gives it."""

    question: str
    resolved: bool
    confidence: float
    answer: str
    passages: tuple[Passage, ...] = ()
    escalation: EscalationRef | None = None
    kind: Kind = field(default=Kind.ANSWER, compare=False)
    lead: str = field(default="", compare=False)
    request: RequestRef | None = None

    def __post_init__(self) -> None:
        if not self.lead:  # an answer of one line (a fixed reply) is its own lead
            object.__setattr__(self, "lead", self.answer.split("\n\n", 1)[0])

    def to_dict(self) -> dict[str, Any]:
        """Exactly the DESIGN.md Answer contract."""
        return {
            "question": self.question,
            "resolved": self.resolved,
            "confidence": round(self.confidence, 4),
            "answer": self.answer,
            "passages": [p.to_dict() for p in self.passages],
            "escalation": self.escalation.to_dict() if self.escalation else None,
            "request": self.request.to_dict() if self.request else None,
        }
