"""Edge protection for the web app: per-client rate limit, Origin check, security headers.

`SecurityMiddleware` is plain ASGI so it also covers the mounted gradio apps:
- state-changing requests (POST, PUT, PATCH, DELETE) are refused with 403 when they
  carry an Origin that is neither this server's own nor a configured allowed origin
  (requests without Origin, such as curl or scripts, pass);
- the public chat's gradio upload route is closed (it has no file inputs);
- API POSTs whose Content-Length exceeds the API body limit get 413 before any read;
- POSTs to the public JSON API are rate-limited per client (token bucket) -> 429 with
  Retry-After;
- every response gets nosniff and a Referrer-Policy; the public chat may be framed by
  any site (CSP frame-ancestors *), the console by none (X-Frame-Options DENY).
Request body size limits are FastAPI's own `max_body_size` (see ui/app.py).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.errors import RateLimitedError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class RateLimiter:
    """Token bucket per client: up to `per_minute` requests at once, refilled at
    per_minute/60 per second. `per_minute <= 0` disables it (benchmarks)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 50_000) -> None:
        self.per_minute = int(per_minute)
        self.capacity = float(max(self.per_minute, 1))
        self.rate = self.per_minute / 60.0
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Take one token for `client` or raise RateLimitedError with the wait."""
        if self.per_minute <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimitedError(
                    f"too many requests from this client (limit {self.per_minute} per "
                    f"minute); try again in {math.ceil(wait)} s", wait)
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


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


def _netloc(origin: str) -> str:
    return normalise_origin(origin).split("://", 1)[-1]


def _host_netloc(host: str, scheme: str) -> str:
    return _netloc(f"{scheme}://{host}")


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_origins: frozenset[str] = frozenset(),
                 limiter: RateLimiter | None = None, limited_prefix: str = "/api/",
                 api_body_limit: int | None = None,
                 private_prefixes: tuple[str, ...] = ("/console",),
                 blocked_posts: frozenset[str] = frozenset({"/gradio_api/upload"})) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self.limiter = limiter
        self.limited_prefix = limited_prefix
        self.api_body_limit = api_body_limit
        self.private_prefixes = private_prefixes
        self.blocked_posts = blocked_posts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        headers = Headers(scope=scope)
        if method not in SAFE_METHODS:
            if path in self.blocked_posts:
                await _json(send, 404, "not found")  # the public chat takes no uploads
                return
            origin = headers.get("origin")
            if origin is not None and not self.origin_allowed(origin, headers, scope):
                await _json(send, 403, f"cross-origin request from {origin[:100]!r} is "
                                       "not allowed; add it to POLICY_QA_ALLOWED_ORIGINS")
                return
            if path.startswith(self.limited_prefix) and self._declared_too_large(headers):
                await _json(send, 413, "request body is too large; the limit is "
                                       f"{self.api_body_limit} bytes")
                return
            if self.limiter is not None and path.startswith(self.limited_prefix):
                client = (scope.get("client") or ("", 0))[0]
                try:
                    self.limiter.check(str(client))
                except RateLimitedError as exc:
                    await _json(send, 429, str(exc), {"retry-after": str(exc.retry_after)})
                    return
        private = path.startswith(self.private_prefixes)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.setdefault("x-content-type-options", "nosniff")
                out.setdefault("referrer-policy", "strict-origin-when-cross-origin")
                if private:
                    out["x-frame-options"] = "DENY"
                    out["content-security-policy"] = "frame-ancestors 'none'"
                else:
                    out.setdefault("content-security-policy", "frame-ancestors *")
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _declared_too_large(self, headers: Headers) -> bool:
        """Content-Length above the API limit (a streamed body is counted by FastAPI's
        max_body_size as it arrives)."""
        length = headers.get("content-length", "")
        return (self.api_body_limit is not None and length.isdigit()
                and int(length) > self.api_body_limit)

    def origin_allowed(self, origin: str, headers: Headers, scope: Scope) -> bool:
        if origin == "null":
            return False
        if "*" in self.allowed_origins or normalise_origin(origin) in self.allowed_origins:
            return True
        # Same origin: the Host the browser used, or the one a reverse proxy forwards
        # (a cross-site page cannot add X-Forwarded-Host without a failing preflight).
        hosts = [headers.get("host", ""), headers.get("x-forwarded-host", "").split(",")[0]]
        scheme = urlsplit(origin).scheme or scope.get("scheme", "http")
        return any(h.strip() and _netloc(origin) == _host_netloc(h.strip(), scheme)
                   for h in hosts)


async def _json(send: Send, status: int, error: str,
                extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"x-content-type-options", b"nosniff")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
