"""Cross-replica wake-ups on PostgreSQL: LISTEN/NOTIFY.

A store that queues work (the outbox, the rights request log) announces it inside
the transaction that queues it (`PostgresDatabase.announce`: `pg_notify`, delivered
by the server on commit, to every replica on the database, this one included).
Each replica's `Listener` holds one connection LISTENing on those channels and wakes
its delivery worker on each notification, so a row another replica queued is sent at
once, not at the next rescan. Idle, the listener blocks in select(): no polling.

A lost connection (a database restart) is retried with a capped back-off; after each
(re)connect the callback runs once, since notifications sent while nobody listened
are lost. The rescan interval of the worker stays the backstop.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

from qa.threads import Daemon, name_os_thread

__all__ = ["Listener", "channel"]

logger = logging.getLogger(__name__)
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
             "keepalives_count": 3}  # a silently dead peer is noticed in about a minute


def channel(store: str) -> str:
    """The notification channel of a store's queue, e.g. "policy_qa_outbox"."""
    return f"policy_qa_{store}"


class Listener(Daemon):
    """A daemon thread LISTENing on `channels` of the database at `url`, calling
    `callback` (cheap and thread-safe, e.g. DeliveryWorker.wake) once per burst of
    notifications and after each (re)connect. It blocks in select() on its socket and
    a wake-up socket of its own (psycopg's `notifies()` would poll ten times a second);
    stop() writes to the latter."""

    thread_name = "policy-qa-listen"

    def __init__(self, url: str, channels: Sequence[str], callback: Callable[[], None], *,
                 retry: tuple[float, float] = (1.0, 30.0)) -> None:
        self.url = url
        self.channels = tuple(dict.fromkeys(channels))
        self.callback = callback
        self.retry = retry
        self.connected = threading.Event()
        self.notifications = 0  # tests: how many arrived
        self.wakeups = 0  # tests: how often the thread woke (none while idle)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bell: tuple[socket.socket, socket.socket] | None = None

    def _before_start(self) -> None:
        self._bell = socket.socketpair()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is None or self._bell is None:
            return
        self._bell[1].send(b"x")  # ends the select(); the back-off waits on _stop
        self._thread.join(timeout)
        self._thread = None
        for end in self._bell:
            end.close()
        self._bell = None

    def _run(self) -> None:
        name_os_thread()
        delay, warned = self.retry[0], False
        while not self._stop.is_set():
            try:
                self._listen()
                delay, warned = self.retry[0], False
            except Exception as exc:  # the database away (or a bug): retry, never die
                if not warned:  # once per outage, not once per retry
                    logger.warning("delivery wake-ups paused (rows are still sent at the "
                                   "rescan interval): %s", " ".join(str(exc).split())[:200],
                                   exc_info=not isinstance(exc, psycopg.Error))
                    warned = True
            self.connected.clear()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.retry[1])

    def _listen(self) -> None:
        assert self._bell is not None
        bell = self._bell[0]
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                             **KEEPALIVE) as con:
            for name in self.channels:
                con.execute(sql.SQL("LISTEN {}").format(sql.Identifier(name)))
            self.connected.set()
            logger.info("delivery wake-ups: listening on %s", ", ".join(self.channels))
            self.callback()  # rows queued while nobody listened
            while not self._stop.is_set():
                ready, _, _ = select.select([con.fileno(), bell], [], [])
                self.wakeups += 1
                if bell in ready:
                    return
                notes = list(con.notifies(timeout=0))  # what has arrived; raises if gone
                if not notes:
                    con.execute("SELECT 1")  # readable, yet nothing: is the server there?
                    continue
                self.notifications += len(notes)
                self.callback()
