"""Several model runs at once, one core each (index/lanes.py): the rule that picks a
run's threads, the ONNX runner giving the same vectors whether its runs overlap or not
(real model, real ONNX Runtime), and the server's batcher running one batch per lane."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from index.embed import _load, _model_path
from index.lanes import InFlight, is_lane, one_thread, serve_as_lane
from index.onnx_encoder import OnnxRunner, exported
from ui.web.batching import MicroBatcher

TEXTS = [f"How long do you keep the messages I send about order {n}?" for n in range(48)]


def test_a_run_takes_one_thread_beside_others_or_from_a_lane_when_it_is_a_batch():
    assert not one_thread(texts=1, small=2, others=0)  # a visitor alone: every core
    assert not one_thread(texts=64, small=2, others=0)  # a build alone: every core
    assert one_thread(texts=1, small=2, others=1)  # beside another run: one core
    seen = {}

    def lane() -> None:
        serve_as_lane()
        seen["lane"] = is_lane()
        seen["batch"] = one_thread(texts=16, small=2, others=0)
        seen["question"] = one_thread(texts=1, small=2, others=0)

    thread = threading.Thread(target=lane)
    thread.start()
    thread.join()
    assert seen == {"lane": True, "batch": True, "question": False}
    assert not is_lane()  # marking is per thread


def test_in_flight_counts_the_runs_in_progress():
    flight = InFlight()
    with flight.run() as first, flight.run() as second:
        assert (first, second) == (0, 1)
    with flight.run() as again:
        assert again == 0
    with pytest.raises(RuntimeError), flight.run():
        raise RuntimeError("a failed run is no longer in flight")
    with flight.run() as after:
        assert after == 0


@pytest.fixture(scope="module")
def runner(embedder) -> OnnxRunner:
    """A fresh two-thread ONNX runner on the suite's shared export."""
    st = _load(embedder.model)
    path = exported(_model_path(embedder.model), "onnx",
                    Path(os.environ["POLICY_QA_MODEL_CACHE"]), st)
    return OnnxRunner(path, st.tokenizer, st.max_seq_length, threads=2)


def test_overlapping_runs_give_the_vectors_of_runs_alone(runner):
    alone, tokens_alone = runner.encode_tokens(TEXTS, 8)
    assert runner._lane is None  # nothing overlapped: no one-thread session yet
    assert runner.lanes == 2
    results: dict[int, tuple[np.ndarray, list]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def encode(part: int) -> None:
        serve_as_lane()
        start.wait()
        try:
            for _ in range(3):  # long enough that the four threads' runs overlap
                results[part] = runner.encode_tokens(TEXTS[part::4], 8)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=encode, args=(p,)) for p in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []  # e.g. the fast tokenizer's "Already borrowed" if called at once
    assert runner._lane is not None  # the lanes ran on the one-thread session
    for part, (vectors, tokens) in results.items():
        np.testing.assert_allclose(vectors, alone[part::4], atol=1e-5)
        for got, want in zip(tokens, tokens_alone[part::4], strict=True):
            assert np.array_equal(got.ids, want.ids)
            np.testing.assert_allclose(got.vectors, want.vectors, atol=1e-4)


def test_the_batcher_runs_one_batch_per_lane_at_once():
    inside, release = threading.Semaphore(0), threading.Event()
    lanes_seen: list[bool] = []

    def answer_many(questions):
        lanes_seen.append(is_lane())
        inside.release()
        release.wait(5)
        return [q.upper() for q in questions]

    batcher = MicroBatcher(answer_many, workers=2)
    try:
        first, second = batcher.submit("a"), batcher.submit("b")
        # both batches are inside answer_many at the same time: two workers
        assert inside.acquire(timeout=5) and inside.acquire(timeout=5)
        # seven more wait; once released, each worker takes a fair share of them
        rest = [batcher.submit(q) for q in "cdefghi"]
        time.sleep(0.1)
        release.set()
        assert [f.result(5) for f in (first, second, *rest)] == list("ABCDEFGHI")
        assert lanes_seen and all(lanes_seen)  # both workers are serving lanes
        sizes = batcher.batch_sizes
        assert sum(sizes) == 9 and sizes[:2] == [1, 1]
        assert max(sizes[2:]) <= 4 and len(sizes) >= 4  # 7 split, not one batch of 7
        threads = list(batcher._threads)
        assert len(threads) == 2
    finally:
        batcher.close()
    assert not any(t.is_alive() for t in threads)  # close() stops every worker


def test_one_worker_batches_alone_and_is_no_lane():
    seen = []
    batcher = MicroBatcher(lambda qs: seen.append(is_lane()) or list(qs))
    try:
        assert batcher.submit("x").result(5) == "x"
        assert seen == [False]  # a single worker keeps every core for its runs
    finally:
        batcher.close()
