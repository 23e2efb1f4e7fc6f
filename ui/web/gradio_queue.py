"""Gradio's event queue without its busy loops, so an idle server uses no CPU.

gradio 6's `Queue.start_processing` sleeps 1 ms and `start_progress_updates` 10 ms
between checks even when nothing is queued: with two gradio apps mounted (the chat and
the console) an idle `policy-qa serve` woke about 2,200 times a second, some 6 % of a
core. `quiet_queues(app)` gives every mounted gradio app an `EventQueue`: the same
queue, whose two loops wait on an asyncio.Event that is set when an event is pushed and
when a job ends. The loop bodies are gradio's own; if gradio's source of those loops is
not the one this was written against, the queue is left alone (with a warning) rather
than replaced by a copy that no longer matches.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from typing import Any

from gradio import queueing
from gradio.utils import run_coro_in_background, set_task_name  # what gradio's loop uses

log = logging.getLogger(__name__)

# sha256 of inspect.getsource(...) of gradio 6.31's two loops
KNOWN_LOOPS = {
    "start_processing": "d65be5a5cbed97d75e13233ab7d0dfc9f347c4ffd33bdcb47293d696f38aaa1f",
    "start_progress_updates": "7cbbec1cf932324cd2fc80791130a2cf1ad7d31e42aead9798abc4e51d9e2823",
}


def _digest(name: str) -> str:
    source = inspect.getsource(getattr(queueing.Queue, name))
    return hashlib.sha256(source.encode()).hexdigest()


class EventQueue(queueing.Queue):
    """gradio's Queue; its loops sleep on `_work` while there is nothing to do.
    `wakeups` counts loop iterations (tests: none while idle)."""

    wakeups: int = 0

    def _work(self) -> asyncio.Event:
        event = self.__dict__.get("_policy_qa_work")
        if event is None:
            event = self.__dict__["_policy_qa_work"] = asyncio.Event()
        return event

    async def push(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().push(*args, **kwargs)
        finally:
            self._work().set()

    async def process_events(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().process_events(*args, **kwargs)
        finally:
            self._work().set()  # a slot is free again

    def close(self) -> None:
        super().close()
        self._work().set()

    async def start_processing(self) -> None:
        work = self._work()
        try:
            while not self.stopped:
                self.wakeups += 1
                work.clear()  # state is checked after clearing: no lost wake-up
                if len(self) == 0 or None not in self.active_jobs:
                    await work.wait()
                    continue
                async with self.delete_lock:
                    event_batch = self.get_events()
                if not event_batch:
                    await work.wait()  # every queue at its concurrency limit
                    continue
                self._start(*event_batch)
                work.set()  # progress updates may have a job to watch now
        finally:
            self.stopped = True
            self._cancel_asyncio_tasks()

    def _start(self, events: list[Any], batch: bool, concurrency_id: str) -> None:
        """gradio's own start of a job (the body of its processing loop)."""
        self.active_jobs[self.active_jobs.index(None)] = events
        event_queue = self.event_queue_per_concurrency_id[concurrency_id]
        event_queue.current_concurrency += 1
        start_time = time.time()
        fn = events[0].fn
        event_queue.start_times_per_fn[fn].add(start_time)
        for event in events:
            if (a := self.event_analytics.get(event._id)) is not None:
                a["status"] = "processing"
        task = run_coro_in_background(self.process_events, events, batch, start_time, fn)
        set_task_name(task, events[0].session_hash, fn._id, events[0]._id, batch)
        self._asyncio_tasks.add(task)
        task.add_done_callback(self._asyncio_tasks.discard)
        if self.live_updates:
            self.broadcast_estimations(concurrency_id)

    async def start_progress_updates(self) -> None:
        work = self._work()
        while not self.stopped:
            self.wakeups += 1
            work.clear()
            events = [evt for job in self.active_jobs if job is not None for evt in job]
            if not events:
                await work.wait()
                continue
            for event in events:
                if event.progress_pending and event.progress:
                    event.progress_pending = False
                    self.send_message(event, event.progress)
            await asyncio.sleep(self.progress_update_sleep_when_free)


def _matches_gradio() -> bool:
    changed = [name for name, digest in KNOWN_LOOPS.items() if _digest(name) != digest]
    if changed:
        log.warning("gradio's queue loops (%s) differ from the version policy-qa knows; "
                    "leaving them as they are (an idle server will poll)", ", ".join(changed))
    return not changed


def quiet_queues(app: Any) -> list[EventQueue]:
    """Swap the queue of every gradio app mounted on `app` (before start-up: the
    loops start in the mounted app's lifespan). Returns the swapped queues."""
    if not _matches_gradio():
        return []
    out = []
    for route in getattr(app, "routes", ()):
        get_blocks = getattr(getattr(route, "app", None), "get_blocks", None)
        queue = getattr(get_blocks(), "_queue", None) if callable(get_blocks) else None
        if isinstance(queue, queueing.Queue):
            if not isinstance(queue, EventQueue):
                queue.__class__ = EventQueue
            out.append(queue)
    return out
