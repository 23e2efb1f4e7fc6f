"""The client's address: the socket peer, unless that peer is a trusted reverse proxy.

`ClientAddressMiddleware` is the outermost layer of the web app. When the TCP peer is in
`trusted_proxies` (addresses or CIDRs, default none) it reads the one header family the
`proxy_header` setting names — `X-Forwarded-For`/`-Proto`/`-Host` (the default), or
`Forwarded` (RFC 7239) — never the other: a proxy passes an unknown header through, so
a visitor's own `Forwarded` would otherwise name any address it liked. It takes the
right-most address that is not itself a trusted proxy: a client can prepend anything to
the header, but it cannot change what the last trusted hop appended. Otherwise the
headers are ignored.
The result replaces `scope["client"]` (and `scope["scheme"]`, and the Host header from
`X-Forwarded-Host`/`Forwarded: host=` for the Origin check), so the rate limiter,
login lockout, escalation limits, analytics and logs all see the same one address.

uvicorn's own proxy handling must be off (`proxy_headers=False`, see ui/web/server.py), or it
would trust 127.0.0.1 before this layer runs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from index.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str | Iterable[str]) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' -> networks; ConfigError naming a malformed entry."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    networks = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"trusted_proxies entry {item!r} is not an IP address or "
                              "CIDR (e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded_hops(headers: Headers, header: str = "x-forwarded-for"
                    ) -> tuple[list[str], str | None, str | None]:
    """(`for` values, first to last; the last hop's proto; its host) from Forwarded
    (`header` "forwarded") or X-Forwarded-For/-Proto/-Host."""
    if header == "forwarded":
        forwarded = headers.getlist("forwarded")
        hops, last = [], {}
        for element in ",".join(forwarded).split(","):
            pairs = dict(p.strip().partition("=")[::2] for p in element.split(";") if "=" in p)
            pairs = {k.strip().lower(): v.strip().strip('"') for k, v in pairs.items()}
            if "for" in pairs:
                hops.append(pairs["for"])
            last.update({k: pairs[k] for k in ("proto", "host") if k in pairs})
        return hops, last.get("proto", "").lower() or None, last.get("host")
    hops = [h for h in ",".join(headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower() or None
    host = headers.get("x-forwarded-host", "").split(",")[-1].strip() or None
    return hops, proto, host


# set in the request's state when the client address was read from the proxy's header
FORWARDED_CLIENT = "policy_qa_forwarded_client"
# set when forwarding headers came from a peer that is not a trusted proxy (then removed)
UNTRUSTED_FORWARDING = "policy_qa_untrusted_forwarding"
_X_FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
                          b"x-forwarded-port", b"x-forwarded-prefix"})
_FORWARDING = _X_FORWARDED | {b"forwarded", b"x-real-ip", b"x-forwarded-server"}


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, *, trusted: tuple[Network, ...] = (),
                 header: str = "x-forwarded-for") -> None:
        self.app = app
        self.trusted = trusted
        self.header = header

    def is_trusted(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = (scope.get("client") or ("", 0))[0]
            if self.trusted and self.is_trusted(peer):
                self._rewrite(scope)
                # the other family came from the visitor: a proxy passes it through
                _drop_headers(scope, _FORWARDING - (
                    {b"forwarded"} if self.header == "forwarded" else _X_FORWARDED))
            elif _drop_headers(scope, _FORWARDING):
                # gradio reads X-Forwarded-Host/-Proto itself (its page's own address):
                # from anyone but a trusted proxy they are removed, and remembered
                scope.setdefault("state", {})[UNTRUSTED_FORWARDING] = True
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> None:
        hops, proto, host = _forwarded_hops(Headers(scope=scope), self.header)
        client = None
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # an obfuscated or garbled hop: stop at the last one we understood
            client = str(address)
            if not any(address in net for net in self.trusted):
                break
        if client is not None:
            scope["client"] = (client, 0)
            scope.setdefault("state", {})[FORWARDED_CLIENT] = True
        if host:
            _drop_headers(scope, frozenset({b"host"}))
            scope["headers"] = [*scope["headers"], (b"host", host.encode("latin-1", "replace"))]
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto


def _drop_headers(scope: Scope, names: frozenset[bytes]) -> bool:
    """Remove the headers named (lower-case) from the request; whether any was there."""
    kept = [(k, v) for k, v in scope["headers"] if k.lower() not in names]
    if len(kept) == len(scope["headers"]):
        return False
    scope["headers"] = kept
    return True
