"""`GET /healthz`: what a load balancer and an operator need to know about one replica.

Anyone gets the status (200, or 503 while the index is not loaded or the database is
unreachable), the index and the delivery worker's state. Only clients on this machine or
a private network (`internal_request`) also get the outbox's counts, the warnings and
the model (an adapted model is named by its path on the server); see SECURITY.md.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.requests import Request

from index.errors import PolicyQAError, StoreUnavailableError
from qa.escalation.delivery import DeliveryWorker
from qa.escalation.outbox import Outbox
from qa.service import Service
from ui.web.client_address import FORWARDED_CLIENT, UNTRUSTED_FORWARDING
from ui.web.errors import visitor_message

NO_INBOX = ("no privacy inbox: questions the policy does not answer cannot be forwarded; "
            "set POLICY_QA_INBOX")


# loopback, private networks (RFC 1918, unique-local IPv6) and link-local: fixed here,
# not Python's `is_global`, whose special ranges (CGNAT, Teredo, documentation) change
# between releases and include real Internet clients
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
    "169.254.0.0/16", "fe80::/10"))


def internal_client(host: str) -> bool:
    """Whether `host` is on this machine, a private network or a link: a health checker
    or an operator, not a visitor from the Internet. No address, or a name, is not."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # fe80::1%eth0
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in net for net in INTERNAL_NETWORKS)


def internal_request(request: Request) -> bool:
    """Whether the request comes from an internal client. A request that carries a
    forwarded header came through a proxy: it is internal only when the trusted-proxy
    setting read the client from that header (`ClientAddressMiddleware`); otherwise the
    address is the proxy's, which says nothing of the visitor behind it."""
    state = request.scope.get("state", {})
    proxied = (state.get(UNTRUSTED_FORWARDING) or "x-forwarded-for" in request.headers
               or "forwarded" in request.headers)
    if proxied and not state.get(FORWARDED_CLIENT):
        return False
    return internal_client(request.client.host if request.client else "")


def health_report(service: Service, outbox: Outbox, worker: DeliveryWorker | None,
                  listener: Any, *, details: bool) -> dict[str, Any]:
    """What `/healthz` says; `details`: with the outbox's counts, the warnings and the
    model, which tell an operator (and would tell anyone) how much is escalated, what is
    missing and where the server keeps its model."""
    try:
        index = service.index
        info: dict[str, Any] = {"loaded": True, "chunks": len(index.chunks),
                                "title": service.title}
        if details:  # an adapted model is named by its folder's path on this machine
            info["model"] = str(index.manifest.get("model", ""))
    except PolicyQAError as exc:
        info = {"loaded": False, "error": visitor_message(exc)}
    database = "ok"
    try:
        counts = outbox.counts()
    except StoreUnavailableError as exc:  # the replica cannot record escalations now
        counts, database = {}, "unavailable"
        visitor_message(exc)  # logs the reason
    except PolicyQAError:
        counts = {}
    warnings = [] if not info["loaded"] or service.inbox else [NO_INBOX]
    ok = info["loaded"] and database == "ok"
    report: dict[str, Any] = {
        "status": "ok" if ok else "error", "index": info, "database": database,
        "delivery_worker": bool(worker is not None and worker.running),
        "delivery_wakeups": "this replica" if listener is None else
        "all replicas" if listener.connected.is_set() else "paused"}
    return {**report, "outbox": counts, "warnings": warnings} if details else report
