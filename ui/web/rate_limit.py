"""The one rate limiter of every public action: token buckets per (client, action), in
this process or, with `database_url`, in the shared database (qa/database/shared.py), so a
limit holds across replicas."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from index.errors import RateLimitedError
from qa.clients import bucket_of
from qa.database.shared import WebState

__all__ = ["PRUNE_SECONDS", "Rate", "RateLimiter", "bucket_of"]


@dataclass(frozen=True)
class Rate:
    """`burst` requests at once, then one more every `refill_seconds`; burst <= 0: no limit."""

    burst: int
    refill_seconds: float

    @classmethod
    def per(cls, count: int, seconds: float) -> Rate:
        return cls(int(count), seconds / count if count > 0 else 0.0)

    def describe(self) -> str:
        window = self.burst * self.refill_seconds
        unit = "minute" if round(window) == 60 else f"{round(window)} s"
        return f"{self.burst} per {unit}"


PRUNE_SECONDS = 3600.0


class RateLimiter:
    """Token buckets per (client, action): the one limiter of every public action (the
    API, the chat's ask/thumbs/send/e-mail, console sign-in failures). `rates` maps an
    action to its Rate; an int is a per-minute rate for every action ("0" disables)."""

    def __init__(self, rates: int | Rate | Mapping[str, Rate], *,
                 clock: Callable[[], float] | None = None, max_clients: int = 50_000,
                 shared: WebState | None = None) -> None:
        if isinstance(rates, int):
            rates = Rate.per(rates, 60.0)
        self.rates = dict(rates) if isinstance(rates, Mapping) else {"*": rates}
        # shared buckets are compared across processes: wall-clock time, not monotonic
        self.clock = clock or (time.time if shared is not None else time.monotonic)
        self.max_clients = max_clients
        self.shared = shared  # None: the buckets below, in this process only
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._last_prune = self.clock()

    @classmethod
    def from_settings(cls, settings: object) -> RateLimiter:
        """The app's limiter; with `database_url`, its buckets are the database's."""
        per_minute = int(getattr(settings, "requests_per_minute", 60))
        per_hour = int(getattr(settings, "escalations_per_hour", 10))
        return cls({"ask": Rate.per(per_minute, 60.0), "feedback": Rate.per(per_minute, 60.0),
                    "escalate": Rate.per(per_hour, 3600.0), "email": Rate.per(per_hour, 3600.0),
                    "login": Rate(5, 300.0)}, shared=WebState.from_settings(settings))

    def rate(self, action: str) -> Rate:
        return self.rates.get(action) or self.rates.get("*") or Rate(0, 0.0)

    def check(self, client: str, action: str = "ask") -> None:
        """Take one token for (client, action) or raise RateLimitedError with the wait."""
        wait = self._take(client, action)
        if wait:
            raise RateLimitedError(
                f"too many requests from this client (limit {self.rate(action).describe()}); "
                f"try again in {math.ceil(wait)} s", wait)

    def refund(self, client: str, action: str) -> None:
        """Give back a token `check` took (a sign-in takes one before its password is
        checked, so guesses sent at once cannot all pass; one that succeeds returns it)."""
        self._take(client, action, cost=-1.0)

    def _take(self, client: str, action: str, cost: float = 1.0) -> float:
        rate = self.rate(action)
        if rate.burst <= 0:
            return 0.0
        client = bucket_of(client)
        if self.shared is not None:
            self._maybe_prune()
            return self.shared.take(client, action, rate.burst, rate.refill_seconds,
                                    cost=cost)
        now, key = self.clock(), (client, action)
        with self._lock:
            tokens = self._tokens(key, rate, now)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                return (cost - tokens) * rate.refill_seconds
            self._buckets[key] = (min(tokens - cost, rate.burst), now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return 0.0

    def _maybe_prune(self) -> None:
        """About once an hour, drop shared buckets idle long enough to be full again."""
        now = self.clock()
        if now - self._last_prune < PRUNE_SECONDS or self.shared is None:
            return
        self._last_prune = now
        refill = max((2 * r.burst * r.refill_seconds for r in self.rates.values()), default=0.0)
        self.shared.prune(max(refill, PRUNE_SECONDS))

    def _tokens(self, key: tuple[str, str], rate: Rate, now: float) -> float:
        """The bucket's tokens now, taken out of the map (the caller puts it back last,
        so the least recently used client is the first dropped)."""
        tokens, last = self._buckets.pop(key, None) or (float(rate.burst), now)
        return min(float(rate.burst), tokens + (now - last) / rate.refill_seconds)
