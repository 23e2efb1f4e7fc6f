"""`GET /healthz`: what a load balancer and an operator need to know about one replica.

Anyone gets the status (200, or 503 while the index is not loaded or the database is
unreachable), the index and the delivery worker's state; only clients on this machine or
a private network also get the outbox's counts, the warnings and the model (an adapted
model is named by its path on the server) (SECURITY.md).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from index.errors import PolicyQAError, StoreUnavailableError
from qa.escalation.delivery import DeliveryWorker
from qa.escalation.outbox import Outbox
from qa.service import Service
from ui.web.errors import visitor_message

NO_INBOX = ("no privacy inbox: questions the policy does not answer cannot be forwarded; "
            "set POLICY_QA_INBOX")


def internal_client(host: str) -> bool:
    """Whether the client (as the trusted-proxy setting settled it) is on this machine or
    a private network: a health checker or an operator, not a visitor from the Internet.
    No address at all is a Unix socket, which only this machine reaches."""
    if not host:
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:  # not an address: nothing vouches for it
        return False


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
