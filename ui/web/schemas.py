"""Request and response models of the public JSON API (what /docs shows).

The handlers return `Answer.to_dict()` as is (the DESIGN.md contract); these models
describe it, with examples, and validate the request bodies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qa.records import Passage

EXAMPLE_URL = ("https://koreroapp.com/privacy#when-would-we-share-your-information"
               ":~:text=Korero%20does%20not%20sell")


class AskRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"question": "Do you sell my data?"}]})

    question: str = Field(
        description="The visitor's question in plain language. Whitespace is collapsed; "
                    "it must then be 1 to `max_question_chars` (default 1000) characters.",
        examples=["Do you sell my data?"])


class EscalationRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"question": "Do you keep voice recordings?", "email": "visitor@example.com"}]})

    question: str = Field(description="The question to forward to the privacy inbox.",
                          examples=["Do you keep voice recordings?"])
    email: str | None = Field(
        default=None, description="Optional reply address of the asker (validated; only "
                                  "used as the e-mail's Reply-To).",
        examples=["visitor@example.com"])
    page_url: str | None = Field(
        default=None, max_length=2000,
        description="Optional: the page the visitor asked from (absolute http(s) URL, at "
                    "most 2000 characters; shown in the e-mail body).",
        examples=["https://example.com/pricing"])
    conversation: list[str] | None = Field(
        default=None, max_length=50,
        description="Optional: the visitor's earlier questions in this chat, oldest first "
                    "(the last 10 are kept, each cut to 500 characters).",
        examples=[["Do you sell my data?"]])


JURISDICTION = Literal["eu_uk", "california", "us_other", "elsewhere", "unknown"]
RIGHT = Literal["access", "deletion", "correction", "portability", "opt_out", "objection",
                "withdraw_consent"]


class RightsRequestIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"message": "Please delete my account and everything you have on me",
         "email": "visitor@example.com", "jurisdiction": "eu_uk"}]})

    message: str = Field(description="The visitor's request in their own words")
    email: str = Field(description="Where the privacy team replies (required: the team "
                                   "verifies the requester's identity by e-mail)")
    jurisdiction: JURISDICTION | None = Field(
        default="unknown", description="Where the visitor lives; sets the legal deadline "
        "(`unknown`, or null, takes the strictest)")
    details: str | None = Field(default=None, description="Anything the team should know")
    kind: RIGHT | None = Field(default=None, description="The right exercised; by default "
                                                         "the one recognised in `message`")


class RequestOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": "deletion"},
        {"id": "req_3kTq9xVb0aQe", "kind": "deletion", "status": "received",
         "due": "2027-01-02"}]})

    kind: RIGHT
    id: str | None = Field(default=None, description="Reference, once submitted")
    status: str | None = Field(default=None, description="received, identity_check, "
                               "in_progress, done, refused or extended")
    due: str | None = Field(default=None, description="ISO date the team must respond by")


class EscalationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "esc_3kTq9xVb0aQe", "status": "queued", "to": "privacy@koreroapp.com"}]})

    id: str = Field(description="Reference id of the escalation", examples=["esc_3kTq9xVb0aQe"])
    status: Literal["queued", "sent", "failed", "resolved"]
    to: str = Field(description="The privacy inbox it goes to",
                    examples=["privacy@koreroapp.com"])


class AnswerOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "question": "Do you sell my data?", "resolved": True, "confidence": 0.71,
        "answer": "Here is what our privacy policy says:\n\n> Korero does not sell ...",
        "passages": [{"section": "When would we share your information?",
                      "anchor": "when-would-we-share-your-information", "url": EXAMPLE_URL,
                      "quote": "Korero does not sell, trade, rent or otherwise transfer ...",
                      "score": 0.71}],
        "escalation": None, "request": None}]})

    question: str
    resolved: bool = Field(description="True when the policy answers the question")
    confidence: float = Field(ge=0, le=1)
    answer: str = Field(description="Markdown shown to the user: quotes and links, or the "
                                    "hand-off text")
    passages: list[Passage] = Field(
        description="Best first: verbatim quotes (`quote`), their section (`section`, "
                    "`anchor`), a link to it with a text fragment (`url`) and the "
                    "document it is from (`document`: `{id, title, url}`)")
    escalation: EscalationOut | None = Field(
        description="Always null from /api/ask; use /api/escalations to forward a question")
    request: RequestOut | None = Field(
        default=None, description="null unless the message asks to exercise a privacy "
        "right: then `{kind}`, and after `POST /api/requests` `{id, kind, status, due}`")


class ErrorOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": "question is empty; type a question about the privacy policy"}]})

    error: str = Field(description="What is wrong, naming the bad value")


class IndexHealth(BaseModel):
    loaded: bool
    chunks: int = 0
    title: str = ""
    model: str = Field("", description="The embedding model (to internal clients only)")
    error: str = ""


class HealthOut(BaseModel):
    status: Literal["ok", "error"]
    index: IndexHealth
    database: Literal["ok", "unavailable"] = Field(
        "ok", description="Whether this replica reaches its store (the shared PostgreSQL "
        "database, or the SQLite files): while it cannot, escalations and requests get 503")
    outbox: dict[str, int] | None = Field(
        None, description="Escalations per status; only to clients on the server's machine "
        "or a private network (as the trusted-proxy setting settles the address)",
        examples=[{"queued": 0, "sent": 3, "failed": 0, "resolved": 1}])
    warnings: list[str] | None = Field(
        None, description="What works but needs an operator, e.g. no privacy inbox to "
        "forward questions to; to internal clients only, like `outbox`")
    delivery_worker: bool = Field(description="Whether the e-mail delivery worker runs")
    delivery_wakeups: Literal["this replica", "all replicas", "paused"] = Field(
        "this replica", description="What wakes the worker at once: enqueues on this "
        "replica (SQLite), on any replica (PostgreSQL LISTEN/NOTIFY), or nothing while "
        "the listener reconnects (rows still go at the rescan interval)")


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description, **extra}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying",
                               "schema": {"type": "integer"}}}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed JSON, or an unusable question (empty, too long) or e-mail address"),
    403: _error("Cross-origin request from an origin that is not allowed"),
    413: _error("Request body larger than `max_body_bytes` (default 16384)"),
    422: _error("Valid JSON of the wrong shape: a missing field or a value of the wrong type"),
    429: _error("Too many requests from this client; see Retry-After", headers=RETRY_AFTER),
    503: _error("The index is not loaded or escalation is not configured"),
}
