"""Fetch a published policy page by URL (`policy-qa build https://...`).

The fetch is deliberately strict, since the URL may come from anyone who can run a
build: http(s) only, no credentials in the URL, every hop's host resolved and refused
when it is loopback, private, link-local, reserved, multicast or unspecified (unless
`allow_private`, for a local test server), redirects followed here one at a time (at
most `max_redirects`, loops named), a timeout per operation and for the whole fetch,
the body streamed and abandoned past `max_bytes`, and only document content types.
Every problem is one `PolicyError` line naming the URL.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urldefrag, urlsplit

import httpx

from index.errors import PolicyError
from index.formats import MAX_DOCUMENT_BYTES

DEFAULT_TIMEOUT = 10.0
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CONTENT_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown",
    "application/pdf", "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
})
_ACCEPT = ("text/html, application/xhtml+xml, application/pdf, text/markdown, "
           "text/plain;q=0.9, */*;q=0.1")


@dataclass(frozen=True)
class Fetched:
    """A fetched page: `url` is the final URL after redirects (without a fragment)."""

    url: str
    data: bytes
    content_type: str
    sha256: str
    etag: str = ""
    last_modified: str = ""


def is_url(value: object) -> bool:
    """True when `value` looks like a URL rather than a file path (any `scheme://`)."""
    text = str(value).strip()
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isascii() and scheme.isalpha() and len(scheme) > 1


def fetch_policy(url: str, *, allow_private: bool = False, timeout: float = DEFAULT_TIMEOUT,
                 max_bytes: int = MAX_DOCUMENT_BYTES, max_redirects: int = 5) -> Fetched:
    """GET `url`, following up to `max_redirects` redirects; PolicyError on any problem."""
    current = urldefrag(url.strip()).url
    original = _redact(url.strip())
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    headers = {"User-Agent": "policy-qa (privacy-policy fetch)", "Accept": _ACCEPT}
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False,
                      headers=headers, trust_env=False) as client:
        while True:
            if time.monotonic() > deadline:
                _fail(original, f"timed out after {timeout:g}s")
            check_url(current, allow_private=allow_private, shown=original)
            seen.add(current)
            try:
                with client.stream("GET", current) as response:
                    if response.status_code in REDIRECTS:
                        location = response.headers.get("location", "").strip()
                        if not location:
                            _fail(original, f"HTTP {response.status_code} redirect without "
                                            "a Location")
                        target = urldefrag(str(response.url.join(location))).url
                        if target in seen:
                            _fail(original, f"redirect loop ({current} -> {target})")
                        if len(seen) > max_redirects:
                            _fail(original, f"too many redirects (more than {max_redirects})")
                        current = target
                        continue
                    return _read(response, original, current, max_bytes, deadline, timeout)
            except httpx.TimeoutException:
                _fail(original, f"timed out after {timeout:g}s")
            except httpx.HTTPError as exc:
                _fail(original, _reason(exc))
            except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
                _fail(original, f"bad URL ({exc})")


def _read(response: httpx.Response, original: str, current: str, max_bytes: int,
          deadline: float, timeout: float) -> Fetched:
    if not 200 <= response.status_code < 300:
        phrase = f" {response.reason_phrase}" if response.reason_phrase else ""
        _fail(original, f"HTTP {response.status_code}{phrase}")
    raw_type = response.headers.get("content-type", "")
    content_type = raw_type.split(";", 1)[0].strip().lower() or "application/octet-stream"
    if content_type not in CONTENT_TYPES:
        _fail(original, f"content type {content_type} is not a policy document "
                        "(HTML, PDF, Word, Markdown or plain text)")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        _fail(original, f"the page is {int(declared)} bytes; the limit is {max_bytes}")
    parts: list[bytes] = []
    size = 0
    for part in response.iter_bytes():
        size += len(part)
        if size > max_bytes:
            _fail(original, f"the page is over the limit of {max_bytes} bytes")
        if time.monotonic() > deadline:
            _fail(original, f"timed out after {timeout:g}s")
        parts.append(part)
    data = b"".join(parts)
    return Fetched(url=current, data=data, content_type=content_type,
                   sha256=hashlib.sha256(data).hexdigest(),
                   etag=response.headers.get("etag", "").strip(),
                   last_modified=response.headers.get("last-modified", "").strip())


def check_url(url: str, *, allow_private: bool = False, shown: str | None = None) -> None:
    """Refuse a URL we will not fetch: another scheme, credentials, no host, or (unless
    `allow_private`) a host resolving to a non-public address."""
    shown = shown or _redact(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        _fail(shown, f"bad URL ({exc})")
    if parts.scheme.lower() not in ("http", "https"):
        _fail(shown, f"only http:// and https:// URLs are fetched, not {parts.scheme or '?'}:")
    if parts.username is not None or parts.password is not None:
        _fail(shown, "URLs with credentials (user:password@) are refused")
    host = parts.hostname
    if not host:
        _fail(shown, "the URL has no host")
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        _fail(shown, f"cannot resolve {host} ({getattr(exc, 'strerror', None) or exc})")
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if _private(address):
            _fail(shown, f"{host} is a private or loopback address ({address}); "
                         "pass --allow-private to fetch from it")


def _redact(url: str) -> str:
    """The URL as shown in a message: a password in it is never repeated."""
    head, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if sep and "@" in authority:
        return f"{head}://***@{authority.rsplit('@', 1)[1]}{slash}{path}"
    return url


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return (address.is_loopback or address.is_private or address.is_link_local
            or address.is_reserved or address.is_multicast or address.is_unspecified
            or not address.is_global)


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc).splitlines()[0].strip() if str(exc).strip() else ""
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({text or 'connection refused'})"[:200]
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    return (text or type(exc).__name__)[:200]


def _fail(url: str, reason: str) -> NoReturn:
    raise PolicyError(f"cannot fetch {url}: {reason}")
