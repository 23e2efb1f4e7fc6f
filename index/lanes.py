"""Several model runs at once, one core each.

On a 2-core CPU, ONNX Runtime running batches of 32 questions one after another with
two intra-op threads embedded 239-246 questions/s; two such runs at once with one thread
each embedded 336-338/s (CPU per question 7.8 → 5.8 ms: the two threads of one run
wait on each other at every operator; `scripts/lanes.py` measures it). One question
alone is the other way round: 5.7 ms with two threads, 8.2 ms with one.

So the server's batcher runs one batch per core (ui/web/batching.py), each inside
`lane(questions)`, and an exported runner (index/onnx_encoder.py) gives a run one thread
when another run is in flight in this process, or when it comes from a lane that
answers more than a visitor or two (`ALONE`) or while another lane is busy (a lane
busy with its Python is about to run the model: two threads then would make three on
two cores, which stalls the two-thread run at every operator). A run alone — a
visitor's question at rest with the words it brings, a build, an evaluation — still
takes every core.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

ALONE = 2  # questions a lane may answer at once and still take every core when alone
_local = threading.local()
_busy = [0]  # lanes inside `lane()` in this process
_busy_lock = threading.Lock()


@contextmanager
def lane(questions: int) -> Iterator[None]:
    """Mark the calling thread, for the block, as one of several that run the model at
    once, answering `questions` questions."""
    previous = lane_questions()
    _local.questions = questions
    if not previous:
        with _busy_lock:
            _busy[0] += 1
    try:
        yield
    finally:
        if not previous:
            with _busy_lock:
                _busy[0] -= 1
        _local.questions = previous


def lane_questions() -> int:
    """Questions the calling thread's lane is answering (0: not a lane)."""
    return int(getattr(_local, "questions", 0))


def busy_lanes() -> int:
    """Lanes answering a batch in this process right now."""
    return _busy[0]


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


def one_thread(others: int) -> bool:
    """Whether a run takes one thread: when `others` runs are in flight, or in a lane
    answering more than ALONE questions or while another lane is busy."""
    questions = lane_questions()
    return others > 0 or questions > ALONE or (questions > 0 and busy_lanes() > 1)
