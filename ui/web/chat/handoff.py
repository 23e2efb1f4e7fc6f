"""The chat's hand-off offer: a question the policy does not answer is sent to the
privacy team only when the visitor says so.

The offer sits with the reply that makes it and says, before anything is sent, what goes
to the team (the question, and the e-mail address if one is given) and how long it is
kept; the visitor can send it, with or without an address, or decline. Sent -> the
reference, and the address the team will reply to (or the e-mail box to add one while
the escalation is held back for it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from index.errors import EmailError, PolicyQAError, RateLimitedError
from qa.escalation.context import check_page_url
from qa.escalation.outbox import validate_email
from qa.service import Service
from ui.web.chat.render import (
    BAD_EMAIL,
    NOT_SENT,
    REPLY_INVITE,
    SENT_TO_TEAM,
    as_shown,
    escape_user,
    render_notice,
)
from ui.web.errors import visitor_message

log = logging.getLogger(__name__)

HOLD_SECONDS = 60.0  # how long a question sent without an address waits for one
OFFER = ("**Send your question to the privacy team?** Your question{and_email} goes to "
         "{inbox}, who answer by e-mail; it is kept for {days} days after they answer it. "
         "Nothing is sent unless you press *Send to the privacy team*.")
SENT_WITH_EMAIL = SENT_TO_TEAM + " They will reply to {email}."
DECLINED = "All right, nothing was sent. You can ask me something else about the policy."


@dataclass(frozen=True)
class HandoffBox:
    group: gr.Column
    offer: gr.Markdown
    email: gr.Textbox
    send: gr.Button
    decline: gr.Button
    note: gr.Markdown


def handoff_box() -> HandoffBox:
    with gr.Column(visible=False, elem_id="pqa-handoff-box", elem_classes="pqa-offer") as group:
        offer = gr.Markdown(elem_id="pqa-handoff-offer")
        email = gr.Textbox(label="Your e-mail address, for a reply (optional)", type="email",
                           elem_id="pqa-handoff-email", max_lines=1)
        with gr.Row():
            send = gr.Button("Send to the privacy team", variant="primary", size="sm",
                             elem_id="pqa-handoff-send")
            decline = gr.Button("No, thanks", size="sm", elem_id="pqa-handoff-decline")
        note = gr.Markdown(elem_id="pqa-handoff-note")
    return HandoffBox(group, offer, email, send, decline, note)


def offer_text(service: Service) -> str:
    days = service.settings.retention_days
    return OFFER.format(and_email=" (and your e-mail address, if you give one)",
                        inbox=escape_user(service.inbox or "the privacy team"),
                        days=f"{days:g}")


def visit_context(state: dict, request: Any, question: str) -> dict[str, Any]:
    """What the team gets with a hand-off besides the question: the page the visitor
    is on (widget.js passes the host page as ?from_page=; gradio itself owns ?page=)
    or None when invalid, and their earlier questions in this chat, oldest first."""
    params = getattr(request, "query_params", None) or {}
    try:
        page = check_page_url(params.get("from_page"))
    except PolicyQAError:
        page = None
    asked = [t["q"] for t in (state.get("turns") or {}).values() if t.get("q")]
    if asked and asked[-1] == question:
        asked = asked[:-1]
    return {"page_url": page, "conversation": asked}


def wire(box: HandoffBox, service: Service, state: gr.State, chatbot: gr.Chatbot,
         email_box: gr.Column, check: Callable[[str, str], None],
         client: Callable[[Any], str], keep: Callable[[dict], None]) -> None:
    """Send and decline: each adds one message to the conversation (kept with `keep`)
    and hides the offer; sent without an address, the e-mail box stays open while the
    delivery is held."""

    def kept(result: tuple) -> tuple:
        keep(result[1])
        return result

    def send(email: str, state: dict, request: gr.Request):
        offered = state.get("handoff")
        if not offered:
            return state["history"], state, gr.update(visible=False), "", gr.update()
        email = email.strip() if isinstance(email, str) else ""
        try:
            address = validate_email(email) if email else None
        except EmailError:  # say so, keep the offer open
            return (state["history"], state, gr.update(visible=True), BAD_EMAIL, gr.update())
        try:
            check(client(request), "escalate")
            answer = service.escalate(as_shown(service.ask(offered["q"])),
                                      client=client(request), email=address,
                                      hold_seconds=0.0 if address else HOLD_SECONDS,
                                      **visit_context(state, request, offered["q"]))
        except (RateLimitedError, PolicyQAError) as exc:
            return kept(_closed(state, render_notice(NOT_SENT, reason=visitor_message(exc)), None))
        ref = answer.escalation
        if ref is None:  # the policy answers it after all (e.g. an updated index)
            return kept(_closed(state, render_notice(DECLINED), None))
        log.info("chat: escalation %s sent with consent, e-mail given: %s", ref.id,
                 address is not None)
        if address:
            reply = render_notice(SENT_WITH_EMAIL, to=ref.to, id=ref.id, email=address)
            return kept(_closed(state, reply, None))
        reply = render_notice(SENT_TO_TEAM + " " + REPLY_INVITE, to=ref.to, id=ref.id)
        return kept(_closed(state, reply, ref.id))

    def decline(state: dict):
        if not state.get("handoff"):
            return state["history"], state, gr.update(visible=False), "", gr.update()
        return kept(_closed(state, render_notice(DECLINED), None))

    outputs = [chatbot, state, box.group, box.note, email_box]
    box.send.click(send, [box.email, state], outputs, api_name="send_question")
    box.email.submit(send, [box.email, state], outputs, api_visibility="private")
    box.decline.click(decline, [state], outputs, api_name="decline_question")


def _closed(state: dict, reply: str, pending: str | None) -> tuple:
    history = [*state["history"], {"role": "assistant", "content": reply}]
    state = {**state, "history": history, "handoff": None,
             "pending": pending or state.get("pending")}
    return history, state, gr.update(visible=False), "", gr.update(visible=bool(pending))
