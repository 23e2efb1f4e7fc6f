"""The batcher's queue (ui/web/hot_queue.py): first in, first out; the getter that
began waiting last is woken first; timeouts and Empty as queue.SimpleQueue's."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from ui.web.hot_queue import HotQueue


def test_items_leave_in_the_order_they_came():
    q = HotQueue()
    for n in range(5):
        q.put(n)
    assert q.qsize() == 5
    assert [q.get_nowait() for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(queue.Empty):
        q.get_nowait()


def test_a_get_times_out_with_empty_and_leaves_no_waiter_behind():
    q = HotQueue()
    started = time.monotonic()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    assert 0.04 <= time.monotonic() - started < 1.0
    with pytest.raises(queue.Empty):
        q.get(timeout=0)
    q.put("x")
    assert q.get(timeout=0) == "x"
    assert q._waiting == []


def _wait_for(q: HotQueue, waiters: int) -> None:
    deadline = time.monotonic() + 5
    while len(q._waiting) < waiters:
        assert time.monotonic() < deadline, "the getter never waited"
        time.sleep(0.01)


def test_the_getter_that_waited_last_is_woken_first():
    q, got = HotQueue(), []
    first = threading.Thread(target=lambda: got.append(("cold", q.get(timeout=5))))
    first.start()
    _wait_for(q, 1)
    second = threading.Thread(target=lambda: got.append(("hot", q.get(timeout=5))))
    second.start()
    _wait_for(q, 2)
    q.put(1)
    second.join(5)
    assert got == [("hot", 1)]  # a plain queue would have woken "cold"
    q.put(2)
    first.join(5)
    assert got == [("hot", 1), ("cold", 2)]


def test_many_producers_and_consumers_lose_and_repeat_nothing():
    q, got, lock = HotQueue(), [], threading.Lock()

    def consume() -> None:
        while True:
            item = q.get(timeout=5)
            if item is None:
                return
            with lock:
                got.append(item)

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for thread in consumers:
        thread.start()
    producers = [threading.Thread(target=lambda p=p: [q.put((p, n)) for n in range(500)])
                 for p in range(4)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join(10)
    for _ in consumers:
        q.put(None)
    for thread in consumers:
        thread.join(10)
    assert sorted(got) == sorted((p, n) for p in range(4) for n in range(500))


def test_getters_that_give_up_as_items_arrive_never_strand_one():
    """Getters with tiny timeouts race the puts; a blocking getter must still take every
    item it is left, promptly (a lost wake-up would leave one queued while it sleeps)."""
    q, got, lock, stop = HotQueue(), [], threading.Lock(), threading.Event()
    put_at: dict[int, float] = {}
    worst = [0.0]

    def take(item: int) -> None:
        with lock:
            got.append(item)
            worst[0] = max(worst[0], time.monotonic() - put_at[item])

    def hasty() -> None:
        while not stop.is_set():
            try:
                item = q.get(timeout=0.0005)
            except queue.Empty:
                continue
            if item is None:
                return
            take(item)

    def patient() -> None:
        while (item := q.get(timeout=5)) is not None:
            take(item)

    getters = [threading.Thread(target=f) for f in (hasty, hasty, patient)]
    for thread in getters:
        thread.start()
    for n in range(3000):
        put_at[n] = time.monotonic()
        q.put(n)
        if n % 3 == 0:
            time.sleep(0.0002)
    deadline = time.monotonic() + 5
    while len(got) < 3000 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for _ in getters:
        q.put(None)
    for thread in getters:
        thread.join(5)
    assert sorted(got) == list(range(3000))
    assert worst[0] < 0.5  # every item was taken within half a second of its put
