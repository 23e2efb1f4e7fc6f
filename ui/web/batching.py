"""Off the event loop: a micro-batcher for questions and a recorder for side effects.

`MicroBatcher`: concurrent requests put their question on a queue; a worker thread
takes whatever has queued up by the time it is free (up to `max_batch`; optionally
waiting `max_wait` seconds for more, 0 by default) and answers them with a single
`answer_many` call, so their embeddings are computed in one batch. While a batch runs
the next one queues up, so under load batches grow by themselves, and at rest a
question is answered at once (no timer on the request path). Under load the answers of
one batch go out together and their askers' next questions come back spread over the
milliseconds the event loop takes to write and read them; with `burst_wait` the worker,
while it holds fewer than the largest of its last few batches, waits up to that long
for them, so batches stay full: fewer model runs per question (each run streams the
model's weights once, whatever its size). A lone visitor waits for nothing.

With `workers` above 1 (the server's lanes, index/lanes.py) that many workers answer
batches at once, each inside `lane()` so its model runs take one core; a worker takes a
fair share of what is waiting (at least as many as its recent batches held), and the
queue (ui/web/hot_queue.py) wakes the worker that went idle last, so at rest one warm
worker answers every question.

Questions are validated before they are queued; should a batch still fail, its
questions are retried one by one so a single bad question cannot fail the others. The
same question asked twice in one batch is answered once.

`BackgroundRecorder`: analytics writes run in order on one thread instead of in the
request; whatever has queued up, and whatever arrives within `linger` seconds of the
first, is written as one batch (one connection and commit, through the `batch` context
the owner passes: under load a few commits a second, not one per answer); if it falls
far behind, new records are dropped rather than slowing visitors down.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Generic, TypeVar

from index.lanes import lane
from qa.threads import name_os_thread
from ui.web.hot_queue import HotQueue

log = logging.getLogger(__name__)

T = TypeVar("T")
BURST_MEMORY = 8  # batches: how far back `burst_wait` looks for concurrent askers
_STOP = object()


class _QueueWorker:
    """`workers` daemon threads draining `_queue` with `_run`, started on first use and
    stopped by `close()` (which queues a stop marker per thread and joins them)."""

    _name = "policy-qa-worker"

    def __init__(self, work: queue.Queue[Any] | HotQueue, workers: int = 1) -> None:
        self._queue = work
        self.workers = workers
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join(timeout)

    def _ensure_running(self) -> None:
        if not self._threads:
            with self._lock:
                if not self._threads:
                    self._threads = [threading.Thread(target=self._main, daemon=True,
                                                      name=self._name)
                                     for _ in range(self.workers)]
                    for thread in self._threads:
                        thread.start()

    def _main(self) -> None:
        name_os_thread(self._name)
        self._run()

    def _run(self) -> None:
        raise NotImplementedError


class MicroBatcher(_QueueWorker, Generic[T]):
    _name = "policy-qa-batcher"

    def __init__(self, answer_many: Callable[[Sequence[str]], list[T]], *,
                 validate: Callable[[str], str] | None = None,
                 max_wait: float = 0.0, max_batch: int = 64,
                 burst_wait: float = 0.0, workers: int = 1) -> None:
        super().__init__(HotQueue(), workers)  # at rest, the same worker answers
        self.answer_many = answer_many
        self.validate = validate
        self.max_wait = max_wait
        self.max_batch = max_batch
        self.burst_wait = burst_wait
        self.batch_sizes: list[int] = []  # most recent batches (diagnostics and tests)

    def submit(self, question: str) -> Future[T]:
        """Queue a question; `validate` runs first, here, so bad input raises in the
        caller and never costs a batch."""
        if self.validate is not None:
            question = self.validate(question)
        self._ensure_running()
        future: Future[T] = Future()
        self._queue.put((question, future))
        return future

    def ask(self, question: str) -> T:
        """Blocking: for worker threads (the gradio chat)."""
        return self.submit(question).result()

    async def ask_async(self, question: str) -> T:
        """For async request handlers: the event loop waits without blocking."""
        return await asyncio.wrap_future(self.submit(question))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                return
            batch, stopping = self._gather(item)
            self._answer([(q, f) for q, f in batch if f.set_running_or_notify_cancel()])

    def _gather(self, first: Any) -> tuple[list[Any], bool]:
        """`first` and whatever else is queued, up to `max_batch`: waiting `max_wait`
        from the first; and, while the batch is smaller than the largest of the last
        few (others are asking at the same time), up to `burst_wait`."""
        batch = [first]
        now = time.monotonic()
        deadline = now + self.max_wait
        burst = max(self.batch_sizes[-BURST_MEMORY:], default=1)
        burst_deadline = now + self.burst_wait if burst > 1 else now
        most = self.max_batch
        if self.workers > 1:  # a fair share of what is waiting, so every lane has work
            share = -(-(1 + self._queue.qsize()) // self.workers)
            most = min(most, max(share, burst))
        while len(batch) < most:
            limit = deadline if len(batch) >= burst else max(deadline, burst_deadline)
            try:
                left = limit - time.monotonic()
                nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _STOP:
                return batch, True
            batch.append(nxt)
        return batch, False

    def _answer(self, batch: list[tuple[str, Future[T]]]) -> None:
        if not batch:
            return
        with self._lock:
            self.batch_sizes = [*self.batch_sizes[-99:], len(batch)]
        distinct = list(dict.fromkeys(q for q, _ in batch))  # the same question once
        try:
            answers = self._answer_many(distinct)
            if len(answers) != len(distinct):
                raise RuntimeError(f"{len(answers)} answers for {len(distinct)} questions")
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for item in batch:  # one bad question must not fail the others
                self._answer_alone(item)
            return
        by_question = dict(zip(distinct, answers, strict=True))
        for question, future in batch:
            future.set_result(by_question[question])

    def _answer_many(self, questions: list[str]) -> list[T]:
        """`answer_many`, as one of several lanes when there are several workers (index/
        lanes.py: each run then takes one core)."""
        if self.workers < 2:
            return self.answer_many(questions)
        with lane(len(questions)):
            return self.answer_many(questions)

    def _answer_alone(self, item: tuple[str, Future[T]]) -> None:
        question, future = item
        try:
            future.set_result(self._answer_many([question])[0])
        except Exception as exc:
            future.set_exception(exc)


class BackgroundRecorder(_QueueWorker):
    _name = "policy-qa-recorder"

    def __init__(self, max_pending: int = 10_000, *, max_batch: int = 256,
                 batch: Callable[[], AbstractContextManager[Any]] = nullcontext,
                 linger: float = 0.0) -> None:
        super().__init__(queue.Queue(maxsize=max_pending))
        self.max_batch = max_batch
        self.batch = batch
        self.linger = linger  # seconds to gather more records after the first
        self.dropped = 0
        self.batches = 0  # batches written (diagnostics and tests)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._ensure_running()
        try:
            self._queue.put_nowait((fn, args))
        except queue.Full:
            self.dropped += 1

    def flush(self) -> None:
        """Wait until everything submitted so far has run."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            deadline = time.monotonic() + self.linger
            while len(items) < self.max_batch and items[-1] is not _STOP:
                try:
                    left = deadline - time.monotonic()
                    items.append(self._queue.get(timeout=left) if left > 0
                                 else self._queue.get_nowait())
                except queue.Empty:
                    break
            work = [item for item in items if item is not _STOP]
            try:
                if work:
                    self._record(work)
            finally:
                for _ in items:
                    self._queue.task_done()
            if len(work) < len(items):
                return

    def _record(self, work: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> None:
        self.batches += 1
        try:
            with self.batch():
                for fn, args in work:
                    try:
                        fn(*args)
                    except Exception:
                        log.exception("background record failed")
        except Exception:
            log.exception("background batch of %d records failed", len(work))
