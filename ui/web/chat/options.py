"""The chat page's texts from its URL: `greeting` and `suggest` (widget.js passes the
script tag's data-greeting and data-suggestions so; they work on the page alone too).

    https://HOST/?greeting=Hi&suggest=Do+you+sell+my+data%3F%7CHow+do+I+delete...

Both are untrusted: clipped to the lengths widget.js uses, and escaped where shown
(the greeting as the chat's placeholder, the suggestions as its example buttons). They
are for the widget's frame only (`FramedTextsOnly`): a link that opens the chat page
itself with them ("Security notice: your session expired, reply with your password…",
a phishing text shown as the assistant's on the real domain) is redirected to the page
without them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_GREETING = 300
MAX_SUGGESTIONS = 6
MAX_SUGGESTION = 200


def _param(params: Mapping[str, Any] | None, name: str) -> str:
    value = params.get(name) if params else None
    return value.strip() if isinstance(value, str) else ""


# a link in a greeting would be made clickable by the chat's Markdown: none is shown
_LINK = re.compile(r"[a-z][a-z0-9+.-]*:/|\bwww\.|[\w-]{2,}[.\u3002\uff0e][a-z]{2,}\b", re.I)


def greeting(params: Mapping[str, Any] | None) -> str:
    """The greeting, or "" (the default one) when it is empty or holds a link."""
    text = " ".join(_param(params, "greeting")[:MAX_GREETING].split())
    return "" if _LINK.search(text) else text


def suggestions(params: Mapping[str, Any] | None) -> list[str]:
    parts = (" ".join(s.split())[:MAX_SUGGESTION] for s in _param(params, "suggest").split("|"))
    return list(dict.fromkeys(p for p in parts if p))[:MAX_SUGGESTIONS]


TEXT_PARAMS = frozenset({"greeting", "suggest"})


class FramedTextsOnly:
    """ASGI middleware: a GET of the chat page (`path`) with `greeting` or `suggest` is
    served only as a frame (the browser's `Sec-Fetch-Dest: iframe`); anything else is
    redirected (303) to the same page without those two parameters."""

    def __init__(self, app: ASGIApp, path: str = "/") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == self.path
                and scope["method"] in ("GET", "HEAD")):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                              keep_blank_values=True)
            framed = Headers(scope=scope).get("sec-fetch-dest") == "iframe"
            if not framed and any(k in TEXT_PARAMS for k, _ in query):
                kept = urlencode([(k, v) for k, v in query if k not in TEXT_PARAMS])
                target = self.path + (f"?{kept}" if kept else "")
                await RedirectResponse(target, status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)
