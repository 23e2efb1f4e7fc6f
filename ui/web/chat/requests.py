"""The chat's rights-request offer: when a message asks to exercise a privacy right,
the reply quotes the policy on that right and this form offers to submit the request.

The visitor is told, before anything is sent, what goes to the privacy team and what
happens next; the e-mail address is required (the team replies and verifies identity
there), the jurisdiction and details are optional. Submitted -> a reference number,
the due date, and an honest statement that the assistant itself does nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from index.errors import EmailError, PolicyQAError
from qa.service import Service
from ui.web.chat.render import BAD_EMAIL, escape_user, render_notice
from ui.web.errors import visitor_message

log = logging.getLogger(__name__)

JURISDICTIONS = [("I don't know", "unknown"), ("EU / UK", "eu_uk"),
                 ("California", "california"), ("Another US state", "us_other"),
                 ("Elsewhere", "elsewhere")]
OFFER = ("**Submit this as a request to the privacy team?** Your message, your e-mail "
         "address and any details go to {inbox}, who will verify your identity and reply "
         "by e-mail. Nothing is sent unless you press *Submit my request*.")
DECLINED = "All right, nothing was sent. You can still ask me anything about the policy."
NOT_TAKEN = "Sorry, I could not submit your request: {reason}"


@dataclass(frozen=True)
class RequestBox:
    group: gr.Column
    offer: gr.Markdown
    email: gr.Textbox
    jurisdiction: gr.Dropdown
    details: gr.Textbox
    submit: gr.Button
    decline: gr.Button
    note: gr.Markdown


def request_box() -> RequestBox:
    """The offer's components (hidden until a message is a rights request)."""
    with gr.Column(visible=False, elem_id="pqa-request-box", elem_classes="pqa-offer") as group:
        offer = gr.Markdown(elem_id="pqa-request-offer")
        email = gr.Textbox(label="Your e-mail address (required)", type="email",
                           elem_id="pqa-request-email", max_lines=1)
        jurisdiction = gr.Dropdown(JURISDICTIONS, value="unknown", label="Where you live",
                                   elem_id="pqa-request-where")
        details = gr.Textbox(label="Details for the team (optional)", lines=2, max_lines=6,
                             elem_id="pqa-request-details")
        with gr.Row():
            submit = gr.Button("Submit my request", variant="primary", size="sm",
                               elem_id="pqa-request-submit")
            decline = gr.Button("No, thanks", size="sm", elem_id="pqa-request-decline")
        note = gr.Markdown(elem_id="pqa-request-note")
    return RequestBox(group, offer, email, jurisdiction, details, submit, decline, note)


def offer_text(service: Service) -> str:
    return OFFER.format(inbox=escape_user(service.inbox or "the privacy team"))


def wire(box: RequestBox, service: Service, state: gr.State, chatbot: gr.Chatbot,
         check: Callable[[str, str], None], client: Callable[[Any], str],
         keep: Callable[[dict], None]) -> None:
    """Submit and decline: each adds one message to the conversation (kept with `keep`)
    and hides the box."""

    def kept(result: tuple) -> tuple:
        keep(result[1])
        return result

    def submit(email: str, where: str, details: str, state: dict, request: gr.Request):
        offered = state.get("request")
        if not offered:
            return state["history"], state, gr.update(visible=False), ""
        try:
            check(client(request), "escalate")
            answer = service.submit_request(
                offered["q"], email=email if isinstance(email, str) else "",
                jurisdiction=where if isinstance(where, str) else "unknown",
                details=details if isinstance(details, str) and details.strip() else None,
                kind=offered["kind"], client=client(request))
        except EmailError:  # a bad address: say so, keep the form open
            return state["history"], state, gr.update(visible=True), BAD_EMAIL
        except PolicyQAError as exc:  # say so, keep the form open
            return (state["history"], state, gr.update(visible=True),
                    escape_user(visitor_message(exc)))
        ref = answer.request
        assert ref is not None and ref.id is not None
        log.info("chat: rights request %s submitted (kind=%s)", ref.id, ref.kind)
        reply = render_notice("{lead}", lead=answer.lead)  # the e-mail: a value, escaped
        return kept(_closed(state, reply))

    def decline(state: dict):
        if not state.get("request"):
            return state["history"], state, gr.update(visible=False), ""
        return kept(_closed(state, render_notice(DECLINED)))

    outputs = [chatbot, state, box.group, box.note]
    box.submit.click(submit, [box.email, box.jurisdiction, box.details, state], outputs,
                     api_name="submit_request")
    box.decline.click(decline, [state], outputs, api_name="decline_request")


def _closed(state: dict, reply: str) -> tuple:
    history = [*state["history"], {"role": "assistant", "content": reply}]
    state = {**state, "history": history, "request": None}
    return history, state, gr.update(visible=False), ""
