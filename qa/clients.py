"""The bucket a client counts in (`bucket_of`): every per-client count (the web rate
limiter, the outbox's escalations per hour and its dedupe window, the rights requests
per hour and their dedupe) keys on it, so one subscriber is one client everywhere."""

from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=4096)
def bucket_of(client: str) -> str:
    """The bucket a client's address counts in: an IPv6 address's /64 (one subscriber
    usually holds a whole /64, so per address its guesses and requests would be
    unlimited), any other address or name as it is."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return client
