"""The only door into the mounted gradio apps: an allow-list of routes and a check of
every event payload before gradio sees it.

Gradio copies any `FileData`-shaped object it finds in an event's inputs into its cache
and serves the copy publicly (so `{"path": "/proc/self/environ", ...}` in a chat history
would leak the server's environment). A mounted app does not get the path checks that
`launch()` sets up, so this middleware closes the hole in the request path:

- only the routes the chat and console pages use are reachable (pages, assets, the queue,
  heartbeats, the app id a page polls to reconnect, `run`/`call` of a listed function);
  uploads, proxies, streams, monitoring, gradio's own login/logout and every other gradio
  route answer 404;
- `file=` serves only paths inside the app's own gradio cache directory;
- an event body must be a JSON object naming a function that exists (`fn_index` for the
  queue, a public `api_name` for run/call) with one value per input, and may carry no
  file reference anywhere (a dict with `path`, `url`, `orig_name`, `mime_type`,
  `is_stream` or a gradio `meta` type): such requests get 400/404 JSON, never a 500;
- WebSockets (the app uses none) are accepted and closed at once with code 1008.

Routes the FastAPI app itself defines (the JSON API, the console login) are not gradio's
and pass untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.applications import Starlette
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.web.security import json_response

EVENT_BODY_LIMIT = 64 * 1024
MAX_DEPTH = 32  # levels of nesting in an event body (the chat's own are about six)
FILE_KEYS = frozenset({"path", "url", "orig_name", "mime_type", "is_stream"})
GET_EXACT = frozenset({
    "", "/", "/config", "/config/", "/theme.css", "/favicon.ico", "/robots.txt",
    "/gradio_api/info", "/gradio_api/info/", "/gradio_api/queue/data",
    "/gradio_api/startup-events", "/gradio_api/theme.css",
    # the page asks it every 2 s after the connection broke, and reloads once it answers
    "/gradio_api/app_id", "/gradio_api/app_id/",
})
GET_PREFIXES = ("/assets/", "/static/", "/svelte/", "/gradio_api/heartbeat/")
CALL_RESULT = re.compile(r"^/gradio_api/call/[^/]+/[^/]+/?$")
NAMED_EVENT = re.compile(r"^/gradio_api/(?:run|call|api)/([^/]+)/?$")
QUEUE_JOIN = "/gradio_api/queue/join"
CANCEL = "/gradio_api/cancel"
FILE_ROUTE = re.compile(r"^/gradio_api/file[=/](.*)$")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def own_cache(blocks: gr.Blocks, directory: Path) -> None:
    """Point every component's cache (where gradio copies files) at `directory`."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for block in [blocks, *blocks.blocks.values()]:
        block.GRADIO_CACHE = str(directory)


def file_reference(value: Any) -> bool:
    """True if `value` holds, at any depth, something gradio would treat as a file;
    Refused (400) past MAX_DEPTH levels of nesting (walked without recursion, so a
    hostile body cannot exhaust the stack)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Refused(400, "event body is nested too deeply")
        if isinstance(item, dict):
            meta = item.get("meta")
            if FILE_KEYS & item.keys() or (isinstance(meta, dict) and "_type" in meta):
                return True
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def check_event(rel: str, body: bytes, blocks: gr.Blocks) -> None:
    """Refuse (raise Refused) an event body gradio should never process."""
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "event body is not valid JSON") from None
    except RecursionError:  # json's decoder recurses once per "[" or "{"
        raise Refused(400, "event body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise Refused(400, "event body must be a JSON object")
    if file_reference(payload):
        raise Refused(400, "file references are not accepted")
    if rel == CANCEL:
        return
    fn = _event_function(rel, payload, blocks)
    data = payload.get("data")
    if not isinstance(data, list) or len(data) != len(fn.inputs):
        raise Refused(400, f"'data' must be a list of {len(fn.inputs)} values")
    session = payload.get("session_hash")
    if rel == QUEUE_JOIN and not (isinstance(session, str) and 0 < len(session) <= 64):
        raise Refused(400, "'session_hash' must be a short string")


def _event_function(rel: str, payload: Mapping[str, Any], blocks: gr.Blocks) -> Any:
    index = payload.get("fn_index")
    named = NAMED_EVENT.match(rel)
    if named is None:  # the queue: by index, as the page sends it
        if isinstance(index, bool) or not isinstance(index, int):
            raise Refused(400, "'fn_index' must be an integer")
        if index not in blocks.fns:
            raise Refused(404, f"no function with fn_index {str(index)[:20]}")
        return blocks.fns[index]
    name = named.group(1)
    for fn_id, fn in blocks.fns.items():
        if fn.api_name == name and fn.api_visibility != "private":
            if index is not None and index != fn_id:
                raise Refused(400, "fn_index does not match the named function")
            return fn
    raise Refused(404, f"no function named {name[:40]!r}")


def route_allowed(method: str, rel: str, cache: Path) -> bool:
    if method in ("GET", "HEAD"):
        match = FILE_ROUTE.match(rel)
        if match is not None:
            return _inside(match.group(1), cache)
        return rel in GET_EXACT or rel.startswith(GET_PREFIXES) or bool(CALL_RESULT.match(rel))
    return method == "POST" and (rel in (QUEUE_JOIN, CANCEL) or bool(NAMED_EVENT.match(rel)))


def _inside(path: str, cache: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(cache.resolve())
    except (OSError, ValueError):
        return False


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"request body is too large; the limit is {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


class GradioGuard:
    """ASGI middleware in front of one gradio Blocks mounted on `routes` (a FastAPI app):
    it acts on the requests that app's router would hand to that mount, whatever its
    path, and on every WebSocket (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, routes: Starlette, blocks: gr.Blocks,
                 cache: Path) -> None:
        self.app = app
        self.routes = routes
        self.blocks = blocks
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await _close_websocket(receive, send)
            return
        mount = self._mount(scope) if scope["type"] == "http" else None
        if mount is None:
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        rel = path[len(mount.path):]
        try:
            if not route_allowed(method, rel, self.cache):
                raise Refused(404, "not found")
            if method == "POST":
                body = await read_body(receive, EVENT_BODY_LIMIT)
                check_event(rel, body, self.blocks)
                receive = replay(body, receive)
        except Refused as exc:
            await json_response(send, exc.status, str(exc))
            return
        await self.app(scope, receive, send)

    def _mount(self, scope: Scope) -> Any:
        """The Mount of our Blocks if the router would send `scope` there, else None."""
        partial = None
        for route in self.routes.router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route if self._ours(route) else None
            if match is Match.PARTIAL and partial is None:
                partial = route
        return partial if partial is not None and self._ours(partial) else None

    def _ours(self, route: object) -> bool:
        return isinstance(route, Mount) and getattr(route.app, "blocks", None) is self.blocks


async def _close_websocket(receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1008,
                    "reason": "this server takes no WebSocket connections"})
