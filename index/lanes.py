"""Several model runs at once, one core each.

On a 2-core CPU, ONNX Runtime running batches of 32 questions one after another with
two intra-op threads embedded 248 questions/s; two such runs at once with one thread
each embedded 345/s (CPU per question 7.6 → 5.7 ms: the two threads of one run wait on
each other at every operator; `scripts/lanes.py` measures it). One question alone is
the other way round: 5.8 ms with two threads, 8.3 ms with one.

So the server's batcher runs one batch per core on threads that call `serve_as_lane()`
(ui/web/batching.py), and an exported runner (index/onnx_encoder.py) gives a run one
thread when it comes from such a lane and holds more than a visitor's question, or
when another run is already in flight in this process; a run alone — a visitor's
question at rest, a build, an evaluation — still takes every core.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


def serve_as_lane() -> None:
    """Mark the calling thread as one of several that run the model at once."""
    _local.lane = True


def is_lane() -> bool:
    return bool(getattr(_local, "lane", False))


class InFlight:
    """Counts this process's model runs in progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0

    @contextmanager
    def run(self) -> Iterator[int]:
        """Hold for one run; yields how many others were in flight when it began."""
        with self._lock:
            others = self._runs
            self._runs += 1
        try:
            yield others
        finally:
            with self._lock:
                self._runs -= 1


def one_thread(texts: int, small: int, others: int) -> bool:
    """Whether a run of `texts` texts takes one thread: when others are in flight, or
    from a serving lane when it holds more than `small` texts (a visitor's question
    keeps every core while nobody else asks)."""
    return others > 0 or (is_lane() and texts > small)
