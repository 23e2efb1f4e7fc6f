"""The web app: `create_app(settings) -> FastAPI` serving every web face of one Service.

Routes: the public chat (gradio, ui/web/chat/widget.py) at `/`; `POST /api/ask`;
`POST /api/escalations`; `GET /healthz`; `GET /widget.js` (the embed loader); the
support console at `/console/` when ui/web/console/pages.py is installed; OpenAPI at `/docs`.
Domain errors become 4xx/5xx JSON `{"error": "..."}` here and only here. Questions are
answered through a micro-batcher (ui/web/batching.py) so concurrent visitors share one
embedding batch and the event loop never waits on the model. Raw questions are never
logged at INFO: only their length and outcome.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from index.errors import PolicyQAError
from index.store import package_version
from qa.analytics import Analytics
from qa.escalation.context import check_page_url
from qa.escalation.delivery import REQUESTS_DUE, DeliveryWorker, next_due
from qa.escalation.outbox import Outbox, validate_email
from qa.records import Answer
from qa.rights.mail import deliver_requests_once
from qa.rights.upkeep import purge as purge_requests
from qa.service import Service, build_service, clean_question, with_outbox
from qa.settings import Settings
from ui.web.batching import BackgroundRecorder, MicroBatcher
from ui.web.chat.options import FramedTextsOnly
from ui.web.chat.render import CHAT_HEAD
from ui.web.chat.widget import build_widget
from ui.web.client_address import ClientAddressMiddleware, parse_networks
from ui.web.console.pages import mount_console
from ui.web.docs import mount_docs
from ui.web.errors import install_error_handlers, refuse_other_methods
from ui.web.gradio_guard import GradioGuard, own_cache
from ui.web.gradio_queue import quiet_queues
from ui.web.health import health_report, internal_request
from ui.web.rate_limit import RateLimiter
from ui.web.schemas import (
    ERROR_RESPONSES,
    AnswerOut,
    AskRequest,
    EscalationOut,
    EscalationRequest,
    HealthOut,
    RightsRequestIn,
)
from ui.web.security import SecurityMiddleware, parse_origins

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
RECORD_LINGER_S = 0.25  # analytics rows gathered per commit: a few commits a second
APP_BODY_LIMIT = 1 << 20  # everything else (gradio events); the API uses max_body_bytes
DESCRIPTION = """Answers questions about a privacy policy with verbatim quotes and links
to the quoted sentence; forwards what the policy does not answer to the privacy inbox.

Errors are JSON `{"error": "..."}`. POSTs are rate-limited per client (429 with
`Retry-After`), size-limited (413) and refused from foreign origins (403).
Embed the chat on any page with `<script src="https://HOST/widget.js" defer></script>`."""


def create_app(settings: Settings, *, service: Service | None = None,
               start_worker: bool = True) -> FastAPI:
    service = with_outbox(service) if service is not None else build_service(
        settings, escalate=True)
    outbox: Outbox = service.outbox
    analytics = Analytics.from_settings(settings)
    recorder = BackgroundRecorder(batch=analytics.batch, linger=RECORD_LINGER_S)
    batcher: MicroBatcher[Answer] = MicroBatcher(
        service.ask_many, validate=lambda text: _question(text, settings),
        burst_wait=settings.batch_wait_ms / 1000,
        workers=service.embedder.serve_in_lanes(settings.lanes))
    limiter = RateLimiter.from_settings(settings)
    trusted = parse_networks(settings.trusted_proxies)
    worker = DeliveryWorker.from_settings(
        outbox, settings, extra_passes=[lambda: deliver_requests_once(
            service.requests, settings)],
        extra_due=[lambda: next_due(service.requests, REQUESTS_DUE)],
        extra_purges=[lambda now: purge_requests(service.requests, settings.retention_days,
                                                 now)]) if start_worker else None
    listener = _listener(outbox, service.requests, worker)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        quiet_queues(app)  # before the mounted gradio apps start their queues
        unwake = []
        if worker is not None:
            worker.start()  # on SQLite a commit that queued mail wakes it at once:
            unwake = [db.wake_on_announce(worker.wake)
                      for db in _databases(outbox, service.requests)]
        if listener is not None:
            listener.start()
        try:
            yield
        finally:
            for undo in unwake:
                undo()
            if listener is not None:
                await run_in_threadpool(listener.stop)
            if worker is not None:
                await run_in_threadpool(worker.stop)
            batcher.close()
            recorder.close()
            shutil.rmtree(cache, ignore_errors=True)

    app = FastAPI(title="policy-qa", version=package_version(), description=DESCRIPTION,
                  lifespan=lifespan, max_body_size=APP_BODY_LIMIT,
                  docs_url=None, redoc_url=None)
    mount_docs(app)  # /docs with local assets (ui/web/docs.py), before the chat mount
    app.state.service, app.state.batcher, app.state.recorder = service, batcher, recorder
    app.state.analytics, app.state.worker, app.state.limiter = analytics, worker, limiter
    app.state.listener = listener

    def record_answer(answer: Answer, client: str) -> None:
        if analytics is not None:
            recorder.submit(analytics.record_answer, answer, client)

    def record_feedback(question: str, answer_text: str, helpful: bool, client: str) -> None:
        if analytics is not None:
            recorder.submit(analytics.record_feedback, question, answer_text, helpful, client)

    install_error_handlers(app)
    api = {"responses": ERROR_RESPONSES, "max_body_size": settings.max_body_bytes,
           "tags": ["public API"]}

    @app.post("/api/ask", response_model=AnswerOut, summary="Answer a question", **api)
    async def ask(body: AskRequest, request: Request) -> Response:
        """Answer from the policy: verbatim quotes with section links, or, when the
        policy does not cover it, `resolved: false` with the closest passages.
        Nothing is forwarded; use `POST /api/escalations` for that."""
        question = _question(body.question, settings)
        answer = await batcher.ask_async(question)
        record_answer(answer, _client(request))
        log.info("ask: %d chars, kind=%s, resolved=%s, confidence=%.2f", len(question),
                 answer.kind, answer.resolved, answer.confidence)
        return JSONResponse(answer.to_dict())

    @app.post("/api/escalations", status_code=201, response_model=EscalationOut,
              summary="Forward a question to the privacy inbox", **api)
    async def escalations(body: EscalationRequest, request: Request) -> Response:
        """Commit the question to the outbox (on disk before this returns) for delivery
        to the privacy inbox, whether or not the policy answers it. The same question
        from the same client within the dedupe window returns the same escalation."""
        question = _question(body.question, settings)
        email = validate_email(body.email) if body.email and body.email.strip() else None
        answer = await batcher.ask_async(question)
        esc = await run_in_threadpool(service.send_to_team, answer,
                                      client=_client(request), email=email,
                                      page_url=check_page_url(body.page_url),
                                      conversation=body.conversation or ())
        log.info("escalation %s: %d chars, e-mail given: %s", esc.id, len(question),
                 email is not None)
        return JSONResponse(esc.to_dict(), status_code=201)

    @app.post("/api/requests", status_code=201, response_model=AnswerOut,
              summary="Submit a privacy rights request", **api)
    async def rights_requests(body: RightsRequestIn, request: Request) -> Response:
        """Take a request to exercise a privacy right (access, deletion, correction,
        portability, opt-out, objection, withdrawing consent): committed to disk before
        this returns, then e-mailed to the privacy inbox with its legal due date. The
        answer quotes what the policy says about that right; `request` holds the
        reference. The team verifies the requester's identity; nothing is done here."""
        message = _question(body.message, settings, "message")
        email = validate_email(body.email)
        where = body.jurisdiction or "unknown"  # null: not said
        answer = await run_in_threadpool(
            service.submit_request, message, email=email, jurisdiction=where,
            details=body.details, kind=body.kind, client=_client(request))
        assert answer.request is not None
        log.info("rights request %s: kind=%s, jurisdiction=%s", answer.request.id,
                 answer.request.kind, where)
        return JSONResponse(answer.to_dict(), status_code=201)

    @app.get("/healthz", response_model=HealthOut, summary="Health", tags=["operations"],
             responses={503: {"model": HealthOut,
                              "description": "Index not loaded, or the database unreachable"}})
    def healthz(request: Request) -> Response:
        """Index loaded, chunk count, whether the database is reachable; to clients on
        this machine or a private network, also the outbox's escalations per status, the
        operator's warnings and the model (ui/web/health.py)."""
        health = health_report(service, outbox, worker, listener,
                               details=internal_request(request))
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    script = (STATIC / "widget.js").read_bytes()

    @app.get("/widget.js", response_class=Response, summary="Chat loader for any site",
             tags=["embed"], responses={200: {"content": {"text/javascript": {}}}})
    async def widget_js() -> Response:
        """`<script src="https://HOST/widget.js" defer></script>` adds a chat button."""
        return Response(script, media_type="text/javascript; charset=utf-8", headers={
            "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin",
            "Cache-Control": "public, max-age=300"})

    app.add_api_route("/widget.js", widget_js, methods=["HEAD"], include_in_schema=False)
    refuse_other_methods(app, ["/api/ask", "/api/escalations", "/api/requests"])

    cache = Path(tempfile.mkdtemp(prefix="policy-qa-gradio-"))  # gradio's, and only ours
    try:  # a console setting refused (a short password): no folder is left behind
        mount_console(app, service, settings, analytics, limiter=limiter,
                      cache=cache / "console")
        chat = build_widget(service, ask=batcher.ask, on_answer=record_answer,
                            on_feedback=record_feedback, limiter=limiter,
                            title=_title(service))
        own_cache(chat, cache / "chat")
        gr.mount_gradio_app(app, chat, path="/", head=CHAT_HEAD, footer_links=[],
                            run_history=False, ssr_mode=False, mcp_server=False, pwa=False,
                            show_error=False)
    except BaseException:
        shutil.rmtree(cache, ignore_errors=True)
        raise
    # added last, so outermost: they also cover the console's own middleware; the client
    # address is settled first, so every layer below sees the same one
    app.add_middleware(FramedTextsOnly)  # the widget's greeting and suggestions: framed only
    app.add_middleware(GradioGuard, routes=app, blocks=chat, cache=cache / "chat")
    app.add_middleware(SecurityMiddleware, allowed_origins=parse_origins(settings.allowed_origins),
                       limiter=limiter, api_body_limit=settings.max_body_bytes)
    app.add_middleware(ClientAddressMiddleware, trusted=trusted, header=settings.proxy_header)
    return app


def _question(text: str, settings: Settings, what: str = "question") -> str:
    return clean_question(text, settings.max_question_chars, what)  # the one rule


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _title(service: Service) -> str:
    """What the chat's heading asks about: the policy's title, and how many other
    documents the index holds ("… and 2 related documents")."""
    try:
        title = str(service.index.manifest.get("title") or "Privacy Policy")
        others = len(service.index.documents) - 1
    except PolicyQAError:
        return "Privacy Policy"
    if others < 1:
        return title
    return f"{title} and {others} related document{'s' if others > 1 else ''}"


def _databases(outbox: Outbox, requests: Any) -> list[Any]:
    """The databases whose commits queue mail: the outbox's and the rights log's (each
    once: on PostgreSQL they may be one)."""
    found = [outbox.database, getattr(requests, "database", None)]
    return list({id(db): db for db in found if db is not None}.values())


def _listener(outbox: Outbox, requests: Any, worker: DeliveryWorker | None) -> Any:
    """On PostgreSQL, what wakes this replica's worker when any replica queues mail
    (qa/database/listen.py); None on SQLite or without a worker."""
    if worker is None:
        return None
    requests_db = getattr(requests, "database", None)
    same = requests_db is not None and (getattr(requests_db, "url", None)
                                        == getattr(outbox.database, "url", None))
    return outbox.database.listener(worker.wake, *([requests_db] if same else []))
