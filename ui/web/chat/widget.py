"""The public chat: `build_widget(service)` -> gradio Blocks.

Answers render as verbatim quotes whose section name links to the quoted sentence
(ui/web/chat/render.py). An unresolved question is offered to the privacy team and sent
only with the visitor's consent (ui/web/chat/handoff.py); a rights request is offered
as one (ui/web/chat/requests.py). Every answer has thumbs up/down; thumbs-down offers
"Send this to the privacy team". Only the chat's own functions are in the gradio API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from index.errors import EmailError, PolicyQAError, QuestionError, RateLimitedError
from qa.answering.answer import GREETING
from qa.escalation.outbox import EscalationStateError, validate_email
from qa.normalize import clean_question
from qa.records import Answer, Kind
from qa.service import Service
from ui.web.chat.conversations import ConversationStore
from ui.web.chat.conversations import wire as wire_conversations
from ui.web.chat.handoff import HOLD_SECONDS as HANDOFF_HOLD
from ui.web.chat.handoff import handoff_box, visit_context
from ui.web.chat.handoff import offer_text as handoff_offer_text
from ui.web.chat.handoff import wire as wire_handoff
from ui.web.chat.render import (
    BAD_EMAIL,
    EMAIL_SAVED,
    EMAIL_TOO_LATE,
    ERROR,
    NOT_SENT,
    REPLY_INVITE,
    SENT_TO_TEAM,
    SLOW_DOWN,
    TYPING,
    as_shown,
    escape_user,
    plain_text,
    render_answer,
    render_notice,
    seconds,
)
from ui.web.chat.requests import offer_text as request_offer_text
from ui.web.chat.requests import request_box
from ui.web.chat.requests import wire as wire_request
from ui.web.errors import visitor_message
from ui.web.rate_limit import RateLimiter

log = logging.getLogger(__name__)

HOLD_SECONDS = HANDOFF_HOLD  # how long a forwarded question waits for an e-mail address
PUBLIC_API = ("ask", "feedback", "add_email", "send_to_team", "submit_request",
              "decline_request", "send_question", "decline_question")

AskFn = Callable[[str], Answer]
AnswerHook = Callable[[Answer, str], None]
FeedbackHook = Callable[[str, str, bool, str], None]


def _client(request: gr.Request | None) -> str:
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")


def _hook(fn: Callable[..., None] | None, *args: Any) -> None:
    """Analytics must never break the chat."""
    if fn is None:
        return
    try:
        fn(*args)
    except Exception:
        log.exception("chat hook %s failed", getattr(fn, "__name__", fn))


def build_widget(
    service: Service,
    *,
    ask: AskFn | None = None,
    on_answer: AnswerHook | None = None,
    on_feedback: FeedbackHook | None = None,
    limiter: RateLimiter | None = None,
    title: str = "Privacy Policy",
    conversations: ConversationStore | None = None,
) -> gr.Blocks:
    """The public chat over `service`. `ask` defaults to service.ask (the web app passes
    its micro-batcher); `limiter` takes a token per visitor action (ask, feedback,
    escalate, email); the hooks record answers and thumbs for analytics.

    The conversation lives on the server, in the session's gr.State: no function takes
    the chat history (or anything file-like) from the client; the Chatbot is output only.
    `conversations` keeps it per browser tab across a reload, under a token the tab
    holds in sessionStorage (ui/web/chat/conversations.py).

    A question is echoed at once with a typing indicator (`echo`, which keeps the
    question in the state), then answered (`answer_pending`, which reads it from
    there): two yields of one event (`ask_flow`); the gradio API's /ask returns
    only the second."""
    ask = ask or service.ask
    store = conversations or ConversationStore()

    def fresh() -> dict:
        return {"history": [], "turns": {}, "pending": None, "disliked": None,
                "request": None, "handoff": None, "token": None, "asking": None}

    def check(client: str, action: str) -> None:
        if limiter is not None:
            limiter.check(client, action)

    def offers(answer: Answer) -> tuple[dict | None, dict | None]:
        """(hand-off, rights request) offered with this answer, if any."""
        if answer.request is not None and service.requests is not None:
            return None, {"q": answer.question, "kind": answer.request.kind}
        if answer.kind == Kind.UNRESOLVED and service.outbox is not None and service.inbox:
            return {"q": answer.question}, None
        return None, None

    def respond(message: str, state: dict, request: gr.Request):
        message = message if isinstance(message, str) else ""
        if not message.strip():
            return ("", state["history"], state, *[gr.update()] * 6)
        client = _client(request)
        history = [*state["history"], {"role": "user", "content": escape_user(message)}]
        # a new question closes the offer to add an e-mail to an earlier hand-off: left
        # open below a later answer, the address went with a question not meant
        pending, handoff, offered = None, None, None
        try:
            check(client, "ask")
            answer = ask(message)
        except RateLimitedError as exc:
            reply = render_notice(SLOW_DOWN, wait=seconds(exc.retry_after))
        except PolicyQAError as exc:
            reply = render_notice(ERROR, reason=visitor_message(exc))
        else:
            _hook(on_answer, answer, client)
            reply = render_answer(answer, show_documents=len(service.index.documents) > 1)
            handoff, offered = offers(answer)
            state["turns"][len(history)] = {"q": answer.question, "a": plain_text(answer),
                                            "esc": None}
            log.info("chat: %d chars, kind=%s, resolved=%s", len(answer.question),
                     answer.kind, answer.resolved)
        history.append({"role": "assistant", "content": reply})
        state = {**state, "history": history, "pending": pending, "disliked": None,
                 "request": offered, "handoff": handoff}
        return ("", history, state, gr.update(visible=bool(pending)), gr.update(visible=False),
                gr.update(visible=offered is not None),
                request_offer_text(service) if offered else "",
                gr.update(visible=handoff is not None),
                handoff_offer_text(service) if handoff else "")

    def echo(message: str, state: dict):
        """The question at once, and a typing indicator; nothing is answered yet. A
        question that cannot be asked (too long) stays in the box, to be shortened, with
        the reason below the conversation (not kept in it)."""
        message = message if isinstance(message, str) else ""
        if not message.strip():
            return message, state["history"], state, gr.update()
        try:
            clean_question(message, service.settings.max_question_chars)
        except QuestionError as exc:
            notice = render_notice(ERROR + " Please shorten it and ask again.",
                                   reason=visitor_message(exc))
            return message, [*state["history"], {"role": "assistant", "content": notice}], \
                state, gr.update()
        token = state.get("token") or store.new_token()
        shown = [*state["history"], {"role": "user", "content": escape_user(message)},
                 {"role": "assistant", "content": TYPING}]
        return "", shown, {**state, "asking": message, "token": token}, token

    def answer_pending(state: dict, request: gr.Request):
        message = state.get("asking")
        if not message:
            return (state["history"], state, *[gr.update()] * 6)
        answered = respond(message, {**state, "asking": None}, request)[1:]
        store.keep(answered[1])  # before the reply is shown: a reload finds it
        return answered

    def ask_now(message: str, state: dict, request: gr.Request):
        """/ask in the gradio API: echo and answer in one call."""
        box, shown, state, token = echo(message, state)
        if not state.get("asking"):  # empty, or refused: the box keeps the text
            return (box, shown, state, *[gr.update()] * 6, token)
        return ("", *answer_pending(state, request), token)

    def ask_flow(message: str, state: dict, request: gr.Request):
        """The chat's one event per question: the echo and typing indicator, then the
        answer (a generator, so the browser sees one gradio event: a `.then` chain
        raced gradio's stream closing and lost the answer now and then)."""
        box_value, shown, state, token = echo(message, state)
        yield (box_value, shown, state, token, *[gr.update()] * 6)
        if state.get("asking"):
            history, state, *rest = answer_pending(state, request)
            yield ("", history, state, token, *rest)

    def example(state: dict, data: gr.SelectData, request: gr.Request):
        value = data.value.get("text") if isinstance(data.value, dict) else data.value
        yield from ask_flow(value if isinstance(value, str) else "", state, request)

    def feedback(state: dict, data: gr.LikeData, request: gr.Request):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = state["turns"].get(index)
        if turn is None or data.liked is None or data.liked == "":
            return gr.update(), state
        helpful = data.liked is True or data.liked == "Like"
        if turn.get("vote") is helpful:  # one vote per answer: a repeated click is not news
            return gr.update(visible=not helpful), state
        try:
            check(_client(request), "feedback")
        except RateLimitedError:
            return gr.update(), state
        turn["vote"] = helpful
        _hook(on_feedback, turn["q"], turn["a"], helpful, _client(request))
        state = {**state, "disliked": None if helpful else index}
        store.keep(state)
        return gr.update(visible=not helpful), state

    def send_to_team(state: dict, request: gr.Request):
        history = state["history"]
        turn = state["turns"].get(state.get("disliked"))
        if turn is None:
            return history, state, gr.update(), gr.update(visible=False)
        try:
            check(_client(request), "escalate")
            esc = service.send_to_team(as_shown(ask(turn["q"])), client=_client(request),
                                       hold_seconds=HOLD_SECONDS, reason="unhelpful",
                                       **visit_context(state, request, turn["q"]))
        except PolicyQAError as exc:
            reply = render_notice(NOT_SENT, reason=visitor_message(exc))
            pending = state.get("pending")
        else:
            turn["esc"], pending = esc.id, esc.id
            reply = render_notice(SENT_TO_TEAM + " " + REPLY_INVITE, to=esc.to, id=esc.id)
        history = [*history, {"role": "assistant", "content": reply}]
        state = {**state, "history": history, "pending": pending, "disliked": None}
        store.keep(state)
        return history, state, gr.update(visible=bool(pending)), gr.update(visible=False)

    def add_email(email: str, state: dict, request: gr.Request):
        history, esc_id = state["history"], state.get("pending")
        email = email if isinstance(email, str) else ""
        if not esc_id or service.outbox is None:
            return email, "", history, state, gr.update(visible=False)
        try:
            check(_client(request), "email")
            esc = service.outbox.attach_email(esc_id, email)
        except EmailError:
            return email, BAD_EMAIL, history, state, gr.update(visible=True)
        except EscalationStateError:
            esc = service.outbox.get(esc_id)
            reply = render_notice(EMAIL_TOO_LATE, to=esc.to, id=esc.id)
        except PolicyQAError as exc:
            reply = render_notice(NOT_SENT, reason=visitor_message(exc))
        else:
            reply = render_notice(EMAIL_SAVED, email=validate_email(email))  # theirs only
        history = [*history, {"role": "assistant", "content": reply}]
        state = {**state, "history": history, "pending": None}
        store.keep(state)
        return "", "", history, state, gr.update(visible=False)

    with gr.Blocks(title="Privacy policy assistant", analytics_enabled=False) as demo:
        state = gr.State(fresh())
        gr.Markdown(f"# Questions about the {escape_user(title)}?\nAnswers quote the policy "
                    "word for word and link to the section.", elem_id="pqa-title")
        chatbot = gr.Chatbot(
            elem_id="pqa-chat", show_label=False, sanitize_html=True, render_markdown=True,
            feedback_options=("Like", "Dislike"), layout="bubble", height=440, autoscroll=False,
            placeholder=escape_user(GREETING), buttons=["copy"])
        with gr.Row(elem_id="pqa-tools"):
            new_btn = gr.Button("New conversation", elem_id="pqa-new", size="sm",
                                variant="secondary", scale=0, min_width=160)
        token = gr.Textbox(visible="hidden", elem_id="pqa-conversation", show_label=False,
                           max_lines=1, container=False)
        offer = request_box()
        handoff = handoff_box()
        box = gr.Textbox(show_label=False, placeholder="Ask about our privacy policy\u2026",
                         elem_id="pqa-ask", submit_btn="Ask", max_lines=4, lines=1)
        with gr.Column(visible=False, elem_id="pqa-email-box",
                       elem_classes="pqa-offer") as email_box:
            email = gr.Textbox(label="Your e-mail address, for a reply (optional)",
                               type="email", elem_id="pqa-email", max_lines=1)
            email_btn = gr.Button("Send my e-mail address", elem_id="pqa-email-send",
                                  size="sm")
            email_note = gr.Markdown(elem_id="pqa-email-note")
        with gr.Column(visible=False, elem_id="pqa-dislike-box",
                       elem_classes="pqa-offer") as dislike_box:
            team_btn = gr.Button("Not helpful? Send this to the privacy team",
                                 elem_id="pqa-send-team", size="sm")

        answered = [chatbot, state, email_box, dislike_box, offer.group, offer.offer,
                    handoff.group, handoff.offer]
        flow = [box, chatbot, state, token, *answered[2:]]
        quiet = {"show_progress": "hidden", "api_visibility": "private"}
        box.submit(ask_flow, [box, state], flow, concurrency_limit=16, **quiet)
        chatbot.example_select(example, [state], flow, concurrency_limit=16, **quiet)
        api_ask = gr.Button(visible=False)  # /ask: a door for API clients only
        api_ask.click(ask_now, [box, state], [box, *answered, token], api_name="ask",
                      concurrency_limit=16)
        wire_conversations(demo, store, fresh, state, chatbot, token, new_btn,
                           [email_box, dislike_box, offer.group, handoff.group])
        wire_request(offer, service, state, chatbot, check, _client, store.keep)
        wire_handoff(handoff, service, state, chatbot, email_box, check, _client, store.keep)
        chatbot.like(feedback, [state], [dislike_box, state], api_name="feedback")
        team_btn.click(send_to_team, [state],
                       [chatbot, state, email_box, dislike_box], api_name="send_to_team")
        email_args = ([email, state],
                      [email, email_note, chatbot, state, email_box])
        email_btn.click(add_email, *email_args, api_name="add_email")
        email.submit(add_email, *email_args, api_visibility="private")
    demo.queue(default_concurrency_limit=4)
    return demo
