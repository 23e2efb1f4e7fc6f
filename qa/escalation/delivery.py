"""Delivery passes over the outbox, and the background worker that runs them.

One pass leases due rows one at a time (so a slow send never outlives the lease of
the rows behind it), sends each with the transport, and records the outcome:
sent; retried with capped exponential backoff and full jitter; or failed (a dead
letter that keeps its last error) on a permanent 5xx, too many attempts or old age.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from index.errors import EmailError, StoreUnavailableError
from qa.escalation.mail import build_message
from qa.escalation.outbox import Claim, Outbox, validate_email
from qa.escalation.transport import (
    PermanentDeliveryError,
    TransientDeliveryError,
    Transport,
    transport_from_settings,
)
from qa.threads import Daemon, name_os_thread

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return f"sent {self.sent}, retried {self.retried}, failed {self.failed}"


def backoff_delay(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempts-1))], never exactly 0."""
    ceiling = min(cap, base * 2 ** min(max(attempts - 1, 0), 60))
    return max(rng.uniform(0.0, ceiling), 0.001)


def delivery_options(settings: Any) -> dict[str, Any]:
    """deliver_due keyword arguments from Settings."""
    return {
        "mail_from": settings.sender,
        "public_url": settings.public_url,
        "max_attempts": settings.max_attempts,
        "max_age_seconds": settings.max_age_hours * 3600.0,
        "base": settings.retry_base_seconds,
        "cap": settings.retry_cap_seconds,
    }


def deliver_due(
    outbox: Outbox,
    transport: Transport,
    *,
    mail_from: str,
    now: float | None = None,
    max_attempts: int,
    max_age_seconds: float,
    base: float,
    cap: float,
    rng: random.Random | None = None,
    limit: int = 100,
    lease_seconds: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    public_url: str = "",
) -> DeliveryReport:
    """One delivery pass over rows due at `now` (default: the outbox clock).

    A fixed `now` simulates time (tests); otherwise each lease starts at the real
    clock. Rows retried in this pass are due strictly later, so each is tried once.
    """
    mail_from = validate_email(mail_from, allow_local=True)  # a setting: fail before claiming
    rng = rng or random.Random()
    lease = lease_seconds or max(60.0, 12.0 * float(getattr(transport, "timeout", 10.0)))
    due_by = outbox.clock() if now is None else now
    counts = {"sent": 0, "retried": 0, "failed": 0}
    for _ in range(limit):
        if should_stop is not None and should_stop():
            break
        t = outbox.clock() if now is None else now
        claims = outbox.claim_due(t, 1, lease, due_by=due_by)
        if not claims:
            break
        outcome = _deliver_one(
            outbox, transport, claims[0], mail_from=mail_from, public_url=public_url, now=now,
            max_attempts=max_attempts, max_age_seconds=max_age_seconds,
            delay=lambda n: backoff_delay(n, base=base, cap=cap, rng=rng),
        )
        counts[outcome] += 1
    report = DeliveryReport(**counts)
    if report != DeliveryReport():
        logger.info("delivery pass via %s: %s", _describe(transport), report)
    return report


def _deliver_one(
    outbox: Outbox, transport: Transport, claim: Claim, *, mail_from: str, public_url: str,
    now: float | None, max_attempts: int, max_age_seconds: float,
    delay: Callable[[int], float],
) -> str:
    esc = claim.escalation
    try:
        transport.send(build_message(esc, mail_from=mail_from, policy_title=esc.policy_title,
                                     public_url=public_url))
    except (PermanentDeliveryError, EmailError) as exc:
        outbox.mark_failed(claim, f"permanent: {exc}")
        logger.warning("escalation %s failed permanently: %s", esc.id, exc)
        return "failed"
    except Exception as exc:  # transient, or a bug: keep the row, never lose it
        error = str(exc) if isinstance(exc, TransientDeliveryError) \
            else f"unexpected {type(exc).__name__}: {exc}"
        return _retry_or_give_up(outbox, claim, error, now, max_attempts, max_age_seconds,
                                 delay)
    t = outbox.clock() if now is None else now
    if not outbox.mark_sent(claim, t):
        logger.warning("escalation %s was sent after its lease expired", esc.id)
    logger.info("escalation %s sent to %s (attempt %d)", esc.id, esc.to, esc.attempts)
    return "sent"


def _retry_or_give_up(
    outbox: Outbox, claim: Claim, error: str, now: float | None, max_attempts: int,
    max_age_seconds: float, delay: Callable[[int], float],
) -> str:
    esc = claim.escalation
    t = outbox.clock() if now is None else now
    age = t - esc.created_at
    if esc.attempts >= max_attempts or age >= max_age_seconds:
        why = (f"{esc.attempts} attempts" if esc.attempts >= max_attempts
               else f"{age / 3600:.1f} hours")
        outbox.mark_failed(claim, f"gave up after {why}: {error}")
        logger.warning("escalation %s failed after %s: %s", esc.id, why, error)
        return "failed"
    next_at = t + delay(esc.attempts)
    outbox.mark_retry(claim, error, next_at)
    logger.info("escalation %s will be retried in %.0f s (attempt %d): %s",
                esc.id, next_at - t, esc.attempts, error)
    return "retried"


def _describe(transport: Transport) -> str:
    describe = getattr(transport, "describe", None)
    return describe() if callable(describe) else type(transport).__name__


def deliver_once(outbox: Outbox, settings: Any, *, transport: Transport | None = None,
                 now: float | None = None) -> DeliveryReport:
    """One pass with everything taken from Settings (what `policy-qa outbox deliver` runs)."""
    transport = transport or transport_from_settings(settings)
    return deliver_due(outbox, transport, now=now, **delivery_options(settings))


OUTBOX_DUE = ("SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until"
              " ELSE next_attempt_at END) FROM escalations WHERE status = 'queued'")
REQUESTS_DUE = ("SELECT MIN(CASE WHEN lease_until > mail_next_at THEN lease_until"
                " ELSE mail_next_at END) FROM requests WHERE mail_status = 'queued'")
MIN_SLEEP = 0.05  # never spin, even if a due row cannot be claimed yet


def next_due(store: Any, query: str = OUTBOX_DUE) -> float | None:
    """When the next queued row of `store` (an Outbox, or a RequestStore with
    REQUESTS_DUE) can be claimed: its due time, or its lease's end if that is later;
    None when nothing is queued. Plain SQL, the same on every back-end."""
    with store.database.connect() as con:
        row = con.execute(query).fetchone()
    return None if row is None or row[0] is None else float(row[0])


class DeliveryWorker(Daemon):
    """A daemon thread running delivery passes: at once on wake() (the app has every
    commit that queues mail call it: `wake_on_announce` on SQLite, NOTIFY on
    PostgreSQL), when the next queued row falls due or its lease expires, and
    otherwise every `interval` seconds (a rescan for rows other processes queued).
    While nothing is due it sleeps on an Event: no polling.

    It also purges expired rows (retention) about once an hour. stop() returns
    promptly: waits are Event-based and a pass stops between messages.
    """

    thread_name = "policy-qa-delivery"

    def __init__(
        self, outbox: Outbox, transport: Transport, *, mail_from: str, interval: float,
        max_attempts: int, max_age_seconds: float, base: float, cap: float,
        rng: random.Random | None = None, purge_interval: float = 3600.0,
        extra_passes: Sequence[Callable[[], object]] = (),
        extra_due: Sequence[Callable[[], float | None]] = (), public_url: str = "",
        extra_purges: Sequence[Callable[[float], int]] = (),
    ) -> None:
        validate_email(mail_from, allow_local=True)  # a bad setting fails now, not each pass
        self.outbox = outbox
        self.transport = transport
        self.interval = max(0.01, float(interval))
        self.purge_interval = purge_interval
        self.extra_passes = tuple(extra_passes)  # other mail queues (rights requests)
        self.extra_due = tuple(extra_due)  # when each of those has work next
        self.extra_purges = tuple(extra_purges)  # other stores' retention (rights log)
        self._options = {
            "mail_from": mail_from, "public_url": public_url, "max_attempts": max_attempts,
            "max_age_seconds": max_age_seconds, "base": base, "cap": cap,
            "rng": rng or random.Random(),
        }
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = float("-inf")
        self.passes = 0
        self.wakeups = 0  # loop iterations (tests: none while idle)

    @classmethod
    def from_settings(cls, outbox: Outbox, settings: Any, *,
                      transport: Transport | None = None,
                      extra_passes: Sequence[Callable[[], object]] = (),
                      extra_due: Sequence[Callable[[], float | None]] = (),
                      extra_purges: Sequence[Callable[[float], int]] = ()
                      ) -> DeliveryWorker:
        return cls(outbox, transport or transport_from_settings(settings),
                   interval=settings.deliver_interval_seconds, extra_passes=extra_passes,
                   extra_due=extra_due, extra_purges=extra_purges,
                   **delivery_options(settings))

    def wake(self) -> None:
        """Run a pass now (e.g. right after an enqueue) instead of at the next tick."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> DeliveryReport:
        self._maybe_purge()
        report = deliver_due(self.outbox, self.transport, should_stop=self._stop.is_set,
                             **self._options)
        for extra in self.extra_passes:
            try:
                extra()
            except Exception:  # one queue's failure must not stop the other's mail
                logger.exception("delivery pass failed")
        self.passes += 1
        return report

    def _run(self) -> None:
        name_os_thread()
        logger.info("delivery worker started (%s, rescan every %.1f s)",
                    _describe(self.transport), self.interval)
        while not self._stop.is_set():
            self.wakeups += 1
            self._wake.clear()  # before the pass: a wake() during it runs another
            try:
                self.run_once()
            except StoreUnavailableError as exc:  # the database is away: rows stay queued
                logger.warning("delivery pass skipped: %s", exc)
            except Exception:  # keep the worker alive; rows stay queued
                logger.exception("delivery pass failed")
            self._wake.wait(self.sleep_seconds())
        logger.info("delivery worker stopped")

    def sleep_seconds(self) -> float:
        """Until the next row (of any queue) can be claimed, the next purge, or the
        rescan `interval`, whichever comes first."""
        now = self.outbox.clock()
        due = [self._last_purge + self.purge_interval, now + self.interval]
        for source in (lambda: next_due(self.outbox), *self.extra_due):
            try:
                when = source()
            except StoreUnavailableError:  # said once by the pass; rescan at the interval
                continue
            except Exception:  # an unreadable queue: fall back to the rescan interval
                logger.exception("could not read when delivery is next due")
                continue
            if when is not None:
                due.append(when)
        return max(MIN_SLEEP, min(due) - now)

    def _maybe_purge(self) -> None:
        now = self.outbox.clock()
        if now - self._last_purge >= self.purge_interval:
            self._last_purge = now
            purged = self.outbox.purge(now)
            if purged:
                logger.info("retention: purged question text of %d resolved escalations",
                            purged)
            for extra in self.extra_purges:
                if extra(now):
                    logger.info("retention: purged the personal data of closed requests")
