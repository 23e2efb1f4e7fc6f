"""Edge protection for the web app: Origin checks, our CORS policy
and the security headers.

`SecurityMiddleware` is plain ASGI so it also covers the mounted gradio apps:
- state-changing requests (POST, PUT, PATCH, DELETE) are refused with 403 when they
  carry an Origin whose scheme, host and port are neither this server's own nor a
  configured allowed origin (requests without Origin, such as curl or scripts, pass);
- CORS is ours, not gradio's: only `/api/*` answers allowed origins with CORS headers
  (preflights included); every other response has any `Access-Control-*` header removed;
- API POSTs whose Content-Length exceeds the API body limit get 413 before any read;
- API POSTs are rate-limited per client and action (token buckets) -> 429 + Retry-After
  (with `database_url` the buckets live in the shared database, qa/database/shared.py,
  so a limit holds across replicas; a database that is away is a 503 with the reason);
- every response gets nosniff, a Referrer-Policy and a Content-Security-Policy
  (`default-src 'self'`, scripts only from this server; the chat may be framed by any
  site, the console by none), HSTS when the request came over HTTPS, no `server`
  banner; console responses are `Cache-Control: no-store`.
Request body size limits are FastAPI's own `max_body_size` (see ui/web/app.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.errors import RateLimitedError, StoreUnavailableError
from ui.web.errors import RETRY_AFTER, visitor_message
from ui.web.rate_limit import RateLimiter

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# gradio's pages need inline scripts (its config is an inline <script>) and inline
# styles; nothing needs eval, objects, or a foreign origin.
_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors {ancestors}")
CHAT_CSP = _CSP.format(ancestors="*")
CONSOLE_CSP = _CSP.format(ancestors="'none'")
HSTS = "max-age=31536000; includeSubDomains"
CORS_MAX_AGE = "600"
# which buckets each rate-limited route takes a token from
API_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "/api/ask": ("ask",), "/api/escalations": ("ask", "escalate"),
    "/api/requests": ("ask", "escalate")}


def parse_origins(value: str | Iterable[str]) -> frozenset[str]:
    """'https://a.example, https://b.example' -> normalised origins ('*' allows all)."""
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(o if o == "*" else normalise_origin(o) for o in
                     (i.strip() for i in items) if o)


def normalise_origin(origin: str) -> str:
    """scheme://host[:port] in lower case, with the scheme's default port dropped."""
    parts = urlsplit(origin.strip().lower())
    try:
        port = parts.port
    except ValueError:
        return origin.strip().lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    shown = f":{port}" if port and port != DEFAULT_PORTS.get(parts.scheme) else ""
    return f"{parts.scheme}://{host}{shown}"


def request_origin(headers: Mapping[str, str], scheme: str) -> str | None:
    """This server's own origin as the browser sees it: the request's scheme and Host."""
    host = headers.get("host", "").strip()
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return normalise_origin(f"{scheme}://{host}")


def same_origin(headers: Mapping[str, str], scheme: str = "http") -> bool:
    """True when the request's Origin (or, without one, its Referer) is this server's
    own origin: same scheme, host and port. Neither, or `Origin: null`, is refused."""
    here = request_origin(headers, scheme)
    claimed = headers.get("origin") or headers.get("referer")
    if here is None or not claimed or claimed == "null":
        return False
    return normalise_origin(claimed) == here


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_origins: frozenset[str] = frozenset(),
                 limiter: RateLimiter | None = None, api_prefix: str = "/api/",
                 api_body_limit: int | None = None,
                 private_prefixes: tuple[str, ...] = ("/console",),
                 open_paths: frozenset[str] = frozenset({"/widget.js"})) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self.limiter = limiter
        self.api_prefix = api_prefix
        self.api_body_limit = api_body_limit
        self.private_prefixes = private_prefixes
        self.open_paths = open_paths  # public assets that set their own `*` CORS header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        api = path.startswith(self.api_prefix)
        cors = api and origin is not None and self.cors_allowed(origin)
        if method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, origin if cors else None)
            return
        refusal = self._refusal(scope, headers, path, method, origin, api)
        if refusal is not None:
            await json_response(send, *refusal)
            return
        private = any(path == p or path.startswith(p + "/") for p in self.private_prefixes)
        secure = scope.get("scheme") == "https"
        strip = ("server",) if path in self.open_paths else ("server", "access-control-")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name in [k for k in out if k.startswith(strip)]:
                    del out[name]
                _harden(out, private=private, secure=secure)
                if cors and origin is not None:
                    _cors_headers(out, origin)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: Headers, path: str, method: str,
                 origin: str | None, api: bool) -> tuple | None:
        if method in SAFE_METHODS:
            return None
        if origin is not None and not self.origin_allowed(origin, headers, scope):
            fix = ("add it to POLICY_QA_ALLOWED_ORIGINS" if api else
                   "only this server's own pages may send it (behind a reverse proxy, set "
                   "POLICY_QA_TRUSTED_PROXIES so its scheme and host are known)")
            return 403, f"cross-origin request from {origin[:100]!r} is not allowed; {fix}"
        if api and self._declared_too_large(headers):
            return 413, f"request body is too large; the limit is {self.api_body_limit} bytes"
        if self.limiter is not None and method == "POST":
            client = str((scope.get("client") or ("", 0))[0])
            try:
                for action in API_ACTIONS.get(path.rstrip("/"), ()):
                    self.limiter.check(client, action)
            except RateLimitedError as exc:
                return 429, str(exc), {"retry-after": str(exc.retry_after)}
            except StoreUnavailableError as exc:  # the shared buckets' database is away
                return 503, visitor_message(exc), {"retry-after": RETRY_AFTER}
        return None

    async def _preflight(self, send: Send, origin: str | None) -> None:
        if origin is None:
            await json_response(send, 403, "cross-origin requests are allowed only on /api/ "
                                            "from POLICY_QA_ALLOWED_ORIGINS")
            return
        out = MutableHeaders()
        _harden(out, private=False, secure=False)
        _cors_headers(out, origin)
        out["access-control-allow-methods"] = "GET, POST"
        out["access-control-allow-headers"] = "Content-Type"
        out["access-control-max-age"] = CORS_MAX_AGE
        await send({"type": "http.response.start", "status": 204, "headers": out.raw})
        await send({"type": "http.response.body", "body": b""})

    def _declared_too_large(self, headers: Headers) -> bool:
        """Content-Length above the API limit (a streamed body is counted by FastAPI's
        max_body_size as it arrives)."""
        length = headers.get("content-length", "")
        return (self.api_body_limit is not None and length.isdigit()
                and int(length) > self.api_body_limit)

    def cors_allowed(self, origin: str) -> bool:
        return origin != "null" and ("*" in self.allowed_origins
                                     or normalise_origin(origin) in self.allowed_origins)

    def origin_allowed(self, origin: str, headers: Headers, scope: Scope) -> bool:
        if self.cors_allowed(origin):
            return True
        return same_origin({"host": headers.get("host", ""), "origin": origin},
                           str(scope.get("scheme", "http")))


def _harden(out: MutableHeaders, *, private: bool, secure: bool) -> None:
    out.setdefault("x-content-type-options", "nosniff")
    out.setdefault("referrer-policy", "strict-origin-when-cross-origin")
    if private:
        out["x-frame-options"] = "DENY"
        out["content-security-policy"] = CONSOLE_CSP
        out["cache-control"] = "no-store"
    else:
        out.setdefault("content-security-policy", CHAT_CSP)
    if secure:
        out["strict-transport-security"] = HSTS


def _cors_headers(out: MutableHeaders, origin: str) -> None:
    out["access-control-allow-origin"] = origin
    vary = out.get("vary", "")
    if "origin" not in vary.lower():
        out["vary"] = f"{vary}, Origin" if vary else "Origin"


async def json_response(send: Send, status: int, error: str,
                        extra: dict[str, str] | None = None) -> None:
    """A JSON error `{"error": ...}` sent straight from ASGI middleware (so with the
    hardening headers of its own: no page may load or frame it, nothing may cache it)."""
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"x-content-type-options", b"nosniff"),
               (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
               (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
