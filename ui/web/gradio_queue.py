"""Gradio's event queue without its busy loops (so an idle server uses no CPU) and
without its lost results (so a reply, or a restored conversation, always shows).

gradio 6's `Queue.start_processing` sleeps 1 ms and `start_progress_updates` 10 ms
between checks even when nothing is queued: with two gradio apps mounted (the chat and
the console) an idle `policy-qa serve` woke about 2,200 times a second, some 6 % of a
core. `quiet_queues(app)` gives every mounted gradio app an `EventQueue`: the same
queue, whose two loops wait on an asyncio.Event that is set when an event is pushed and
when a job ends. The loop bodies are gradio's own; if gradio's source of those loops is
not the one this was written against, the queue is left alone (with a warning) rather
than replaced by a copy that no longer matches.

Lost results: gradio's event stream (`/queue/data`, routes.py `sse_stream`) closes as
soon as a session has no pending event. If the browser's next event is joined in the
few milliseconds around that close, its client registers the event on the stream it
believes open, then gets `close_stream` and never opens another: the event's result
waits on the server until the next click (and the event, still "pending", blocks the
same trigger). In a chat where the page's load event and its first event start
together, or a visitor clicks just as a reply lands, that happened about once in ten
browser tests. `EventQueue` keeps each stream open `LINGER_SECONDS` after an event
completes: a pending marker joins the session's pending events with the completion,
and a completion message for the marker, sent when the time is up, lets gradio's own
check close the stream then, if nothing else is pending.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from typing import Any

from gradio import queueing
from gradio.server_messages import ProcessCompletedMessage
from gradio.utils import run_coro_in_background, set_task_name  # what gradio's loop uses

log = logging.getLogger(__name__)

LINGER_SECONDS = 2.0
LINGER = "policy-qa-linger-"  # prefix of the pending markers (never a gradio event id)

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

    def send_message(self, event: Any, event_message: Any) -> None:
        if isinstance(event_message, ProcessCompletedMessage) and event.alive:
            self._linger(event.session_hash, LINGER + event._id)
        super().send_message(event, event_message)

    def _linger(self, session: str, marker: str) -> None:
        """Keep `session`'s stream open LINGER_SECONDS more (see the module doc)."""
        pending = self.pending_event_ids_session.get(session)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on the server's loop: gradio's own behaviour
            return
        if pending is None:
            return
        pending.add(marker)
        loop.call_later(LINGER_SECONDS, self._release, session, marker)

    def _release(self, session: str, marker: str) -> None:
        pending = self.pending_event_ids_session.get(session)
        if pending is None or marker not in pending:
            return
        messages = self.pending_messages_per_session.get(session)
        if messages is None:
            pending.discard(marker)
            return
        messages.put_nowait(ProcessCompletedMessage(event_id=marker, output={}, success=True))

    async def clean_events(self, *, session_hash: str | None = None,
                           event_id: str | None = None) -> None:
        await super().clean_events(session_hash=session_hash, event_id=event_id)
        pending = self.pending_event_ids_session.get(session_hash or "")
        if pending is not None and all(i.startswith(LINGER) for i in pending):
            self.pending_event_ids_session.pop(session_hash or "", None)  # a tab gone

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
