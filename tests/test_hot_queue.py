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
