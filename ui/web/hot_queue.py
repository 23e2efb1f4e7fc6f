"""A FIFO queue whose waiting consumers are woken last come, first served.

The question batcher's workers (ui/web/batching.py) wait on one queue. A plain queue
wakes the thread that has waited longest, so at rest, with two workers, questions
alternate between them, each time on a thread whose caches have gone cold; measured
here with a temporary change (the bench's server and one-client load, as
`scripts/serve_load.py --one` runs them), a lone visitor's p50 was 10.8-11.2 ms with two
workers on a plain queue against 10.0-10.2 with one. This queue wakes the worker that
went idle last: at rest one worker answers everything, under load both take turns.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import Any


class HotQueue:
    """`put`, `get(timeout)`, `get_nowait` and `qsize`, as queue.SimpleQueue's; items
    leave in the order they came, waiting getters are woken newest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[Any] = deque()
        self._waiting: list[threading.Event] = []  # the newest waiter last

    def put(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
            if self._waiting:
                self._waiting.pop().set()

    def qsize(self) -> int:
        return len(self._items)

    def get_nowait(self) -> Any:
        with self._lock:
            if self._items:
                return self._items.popleft()
        raise queue.Empty

    def get(self, timeout: float | None = None) -> Any:
        """The next item, waiting for one up to `timeout` seconds (None: for ever);
        queue.Empty when none came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise queue.Empty
                woken = threading.Event()
                self._waiting.append(woken)
            if not woken.wait(left):
                with self._lock:  # timed out; unless a put chose it meanwhile (then
                    if woken in self._waiting:  # its item is taken on the next pass)
                        self._waiting.remove(woken)
