"""The support-agent console at /console/: a login page and a gradio Blocks (separate
from the public chat) that nobody reaches without a session.

`mount_console(app, service, settings, analytics)` adds, in front of any routes the app
already has (so a public Blocks mounted at "/" cannot shadow it):

- `GET/POST /console/login`, `POST /console/logout` (FastAPI, plain HTML forms);
- the console Blocks at `/console/`, mounted with an `auth_dependency` that reads the
  session cookie;
- a guard middleware for every path under /console: POST/PUT/PATCH/DELETE need an
  Origin (or Referer) naming this host (403 otherwise); everything except the login
  page needs a valid session (pages redirect to the login page, the rest get 401).

With no `console_users` configured nothing of the console is mounted: every /console
path shows a page explaining how to enable it (HTTP 503), and no password works.
"""

from __future__ import annotations

import html
import logging
import math
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from index.errors import RateLimitedError
from qa.analytics import Analytics
from qa.escalation.outbox import Outbox
from qa.rights.store import RequestStore
from ui.web.console import queue as console_queue
from ui.web.console import requests as console_requests
from ui.web.console import tabs as console_tabs
from ui.web.console.auth import COOKIE, SESSION_SECONDS, ConsoleAuth, same_origin
from ui.web.gradio_guard import GradioGuard, own_cache
from ui.web.rate_limit import RateLimiter

__all__ = ["PREFIX", "build_console", "mount_console"]

PREFIX = "/console"
LOGIN = PREFIX + "/login"
LOGOUT = PREFIX + "/logout"
SAFE_METHODS = frozenset({"GET", "HEAD"})

log = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;font:inherit}}
button{{margin-top:1rem;padding:.5rem 1.2rem;font:inherit}}.error{{color:#b00020}}
code{{background:#eee;padding:0 .2rem}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""

_LOGIN_FORM = """{message}
<form method="post" action="login{query}">
<label for="username">Name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>"""

_DISABLED = """<p>The support-agent console is disabled because no console users are
configured. There is no default password.</p>
<p>To enable it, set <code>POLICY_QA_CONSOLE_USERS</code> (or <code>console_users</code> in
the TOML settings file) to comma-separated <code>name:password</code> pairs, or better
<code>name:pbkdf2_sha256$...</code> hashes made with <code>policy-qa console-hash NAME</code>,
and restart the server.</p>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _login_page(message: str = "", status: int = 200, link: str = "") -> HTMLResponse:
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    query = html.escape("?" + link) if link else ""
    return _page("policy-qa console: sign in", _LOGIN_FORM.format(message=note, query=query),
                 status)


_DEEP_LINK = re.compile(r"escalation=[A-Za-z0-9_-]{1,64}")


def deep_link(query: str) -> str:
    """The console deep link a mail gives (`escalation=ID`) if `query` is exactly one,
    else "": it survives the sign-in, and nothing else can ride along (no redirect
    to elsewhere)."""
    return query if _DEEP_LINK.fullmatch(query or "") else ""


class ConsoleGuard:
    """ASGI middleware: Origin check and session requirement for every /console path."""

    def __init__(self, app: ASGIApp, auth: ConsoleAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not _under_console(path):
            await self.app(scope, receive, send)
            return
        request = HTTPConnection(scope)
        refusal = self._refusal(request, path)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 1008,
                            "reason": "sign in to the console first"})
        else:
            await refusal(scope, receive, send)

    def _refusal(self, request: HTTPConnection, path: str) -> Response | None:
        method = scope_method(request.scope)
        if method not in SAFE_METHODS and not same_origin(request.headers, request.url.scheme):
            log.warning("refused cross-origin %s %s", method, path)
            return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
        if path in (LOGIN, LOGOUT) or not self.auth.enabled:
            return None
        if self.auth.user_for(request.cookies) is not None:
            return None
        if method in SAFE_METHODS and (path in (PREFIX, PREFIX + "/")
                                       or "text/html" in request.headers.get("accept", "")):
            root = request.scope.get("root_path", "")
            link = deep_link(request.scope.get("query_string", b"").decode("latin-1"))
            return RedirectResponse(root + LOGIN + (f"?{link}" if link else ""), status_code=303)
        return JSONResponse({"error": "sign in to the console first"}, status_code=401)


def scope_method(scope: Scope) -> str:
    return str(scope.get("method", "GET")) if scope["type"] == "http" else "GET"


def _under_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _client(request: HTTPConnection) -> str:
    return request.client.host if request.client else ""


def _add_login_routes(app: FastAPI, auth: ConsoleAuth) -> None:
    @app.get(PREFIX, include_in_schema=False)
    def bare(request: Request) -> Response:
        """The console typed without its slash (without this route the chat's guard
        answered 404); ConsoleGuard has sent anyone not signed in to sign in."""
        link = deep_link(request.url.query)
        return RedirectResponse("console/" + (f"?{link}" if link else ""), status_code=307)

    @app.get(LOGIN, include_in_schema=False)
    def login_form(request: Request) -> Response:
        link = deep_link(request.url.query)
        if auth.user_for(request.cookies) is not None:
            return RedirectResponse("./" + (f"?{link}" if link else ""), status_code=303)
        return _login_page(link=link)

    @app.post(LOGIN, include_in_schema=False)
    async def login(request: Request) -> Response:
        client = _client(request)
        try:  # the token is taken before the password is checked (and given back on
            # success), so guesses sent at once cannot all slip in while hashes run
            auth.limiter.check(client, "login")
        except RateLimitedError as exc:
            minutes = max(1, math.ceil(exc.retry_after / 60))
            page = _login_page("Too many failed sign-ins from this address; try again in "
                               f"{minutes} minute{'s' if minutes > 1 else ''}.", 429)
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        form = await request.form()
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        link = deep_link(request.url.query)
        # the password hash takes ~0.3 s of CPU: off the event loop, so other requests
        # are not held while it runs
        if not await run_in_threadpool(auth.credentials.check, name, password):
            log.info("failed console sign-in")
            return _login_page("Wrong name or password.", 401, link)
        auth.limiter.refund(client, "login")
        log.info("console sign-in by %s", name)
        response = RedirectResponse("./" + (f"?{link}" if link else ""), status_code=303)
        response.set_cookie(COOKIE, auth.sessions.issue(name), max_age=int(SESSION_SECONDS),
                            path=PREFIX, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    # GET too: gradio's own GET /console/logout would leave our session valid
    @app.api_route(LOGOUT, methods=["GET", "POST"], include_in_schema=False)
    def logout(request: Request) -> Response:
        auth.sessions.revoke(request.cookies.get(COOKIE))
        response = RedirectResponse("login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        return response


def _add_disabled_routes(app: FastAPI) -> None:
    def disabled() -> Response:
        return _page("policy-qa console is disabled", _DISABLED, 503)

    for path in (PREFIX, PREFIX + "/{rest:path}"):
        app.add_api_route(path, disabled, methods=["GET", "POST", "HEAD"],
                          include_in_schema=False)


def console_theme() -> gr.themes.Base:
    """gradio's default theme with primary buttons dark enough for white text: blue-700
    (#1d4ed8) is 6.7:1, where the default orange is 2.8:1 (axe: color-contrast)."""
    return gr.themes.Default(primary_hue="blue").set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_800",
        button_primary_text_color="white", button_primary_text_color_dark="white",
        button_primary_border_color="*primary_700",
        button_primary_border_color_dark="*primary_700")


def build_console(service: Any, outbox: Outbox, analytics: Analytics,
                  requests: RequestStore | None = None,
                  agents: Sequence[str] = ()) -> gr.Blocks:
    """The agents' Blocks: escalation inbox (assignable to `agents`, the console user
    names), privacy requests (with a `requests` store), ask-as-a-visitor diagnostics,
    index status, analytics."""
    with gr.Blocks(title="policy-qa console", analytics_enabled=False) as demo:
        with gr.Row():
            gr.Markdown("# policy-qa support console")
            # a link button, not gr.HTML: gradio 6 evaluates gr.HTML templates as
            # JavaScript, which the CSP (no 'unsafe-eval') refuses; GET logout signs out
            gr.Button("Sign out", link="logout", link_target="_self", elem_id="logout",
                      size="sm", scale=0)
        with gr.Tabs() as tabs:
            with gr.Tab("Escalations", id="queue"):
                console_queue.queue_tab(demo, service, outbox, list(agents))
            if requests is not None:
                with gr.Tab("Requests", id="requests"):
                    console_requests.requests_tab(demo, requests)
            with gr.Tab("Ask as a visitor", id="diagnose"):
                console_tabs.diagnose_tab(service)
            with gr.Tab("Index status", id="index"):
                console_tabs.index_tab(demo, service, outbox)
            with gr.Tab("Analytics", id="analytics"):
                console_tabs.analytics_tab(demo, analytics, requests)
        if requests is not None:  # a request's mail links to /console/?request=ID
            demo.load(_tab_from_link, None, tabs, api_name=False)
    return demo


def _tab_from_link(request: gr.Request) -> Any:
    """The Requests tab when the console was opened from a request's mail."""
    return gr.Tabs(selected="requests") if console_requests.request_from_link(
        request) else gr.Tabs()


def mount_console(app: FastAPI, service: Any, settings: Any, analytics: Analytics, *,
                  limiter: RateLimiter | None = None, cache: Path | None = None) -> None:
    """Mount the login-protected console under /console (see the module docstring).
    The escalation queue uses `service.outbox`, or an Outbox from settings; the
    Requests tab the rights request log next to the outbox (RequestStore); failed
    sign-ins count in `limiter`; gradio may copy files only into `cache`."""
    before = list(app.router.routes)
    auth = ConsoleAuth.from_settings(settings, limiter)
    if not auth.enabled:
        log.warning("console disabled: no console users configured (POLICY_QA_CONSOLE_USERS)")
        _add_disabled_routes(app)
    else:
        outbox = service.outbox or Outbox.from_settings(settings)
        _add_login_routes(app, auth)
        blocks = build_console(service, outbox, analytics, RequestStore.from_settings(settings),
                               agents=sorted(auth.credentials.users))
        cache = cache or Path(tempfile.mkdtemp(prefix="policy-qa-console-"))
        own_cache(blocks, cache)
        gr.mount_gradio_app(app, blocks, PREFIX,
                            auth_dependency=lambda request: auth.user_for(request.cookies),
                            footer_links=[], run_history=False, show_error=True,
                            theme=console_theme(),
                            allowed_paths=[str(cache)])  # the Requests tab's exports
        app.add_middleware(GradioGuard, routes=app, blocks=blocks, cache=cache)
    app.add_middleware(ConsoleGuard, auth=auth)  # outside the gradio guard: auth first
    mine = [r for r in app.router.routes if r not in before]
    app.router.routes[:] = mine + before
