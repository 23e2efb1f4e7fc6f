"""Several model runs at once, one core each (index/lanes.py): the rule that picks a
run's threads, the ONNX runner giving the same vectors whether its runs overlap or not
(real model, real ONNX Runtime), the server's batcher running one batch per lane, and
a real server answering many visitors at once as it answers each alone."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from web_server import serve_app

from index.embed import Embedder, _load, _model_path
from index.errors import ConfigError
from index.lanes import InFlight, busy_lanes, lane, lane_questions, one_thread
from index.onnx_encoder import OnnxRunner, exported
from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app
from ui.web.batching import MicroBatcher

TEXTS = [f"How long do you keep the messages I send about order {n}?" for n in range(48)]


def test_a_run_takes_one_thread_beside_others_or_in_a_lane_under_load():
    assert not one_thread(others=0)  # alone (a visitor, a build): every core
    assert one_thread(others=1)  # beside another run: one core
    seen = {}

    def worker() -> None:
        with lane(1):
            seen["visitor beside a busy lane"] = one_thread(others=0)
        seen["after"] = (lane_questions(), busy_lanes())

    with lane(1):
        assert busy_lanes() == 1
        assert not one_thread(others=0)  # a lone visitor in the only busy lane
        with lane(16):  # nested: still one lane, answering 16
            assert busy_lanes() == 1 and one_thread(others=0)
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == {"visitor beside a busy lane": True, "after": (0, 1)}
    assert (lane_questions(), busy_lanes()) == (0, 0)  # per thread and per block


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


def _fresh_runner(embedder) -> OnnxRunner:
    """A fresh two-thread ONNX runner on the suite's shared export."""
    st = _load(embedder.model)
    path = exported(_model_path(embedder.model), "onnx",
                    Path(os.environ["POLICY_QA_MODEL_CACHE"]), st)
    return OnnxRunner(path, st.tokenizer, st.max_seq_length, threads=2)


@pytest.fixture(scope="module")
def runner(embedder) -> OnnxRunner:
    return _fresh_runner(embedder)


def test_a_server_in_lanes_holds_two_sessions_and_a_build_its_own(embedder):
    build = _fresh_runner(embedder)
    build.encode(TEXTS[:1], 64)  # a question: every core, spinning
    build.encode(TEXTS, 64)  # a build's batch: every core, threads that sleep
    assert set(build._sessions) == {"spinning", "sleeping"}
    server = _fresh_runner(embedder)
    server.serve_in_lanes()  # made now, not on the first busy request
    assert set(server._sessions) == {"sleeping", "one thread"}
    server.encode(TEXTS, 64)  # its warm-up's big runs: every core
    with lane(1):  # a lone visitor, with new words: every core, threads that sleep
        server.encode(TEXTS[:1], 64)
        server.encode(TEXTS[:6], 64)
    with lane(16):  # a batch under load: one core
        server.encode(TEXTS[:16], 64)
    assert set(server._sessions) == {"sleeping", "one thread"}  # never spinning


def test_overlapping_runs_give_the_vectors_of_runs_alone(runner):
    alone, tokens_alone = runner.encode_tokens(TEXTS, 8)
    assert "one thread" not in runner._sessions  # nothing overlapped: not made yet
    assert runner.lanes == 2
    results: dict[int, tuple[np.ndarray, list]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def encode(part: int) -> None:  # no lanes: one thread only when runs overlap
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
    assert "one thread" in runner._sessions  # the runs overlapped: some took one thread
    for part, (vectors, tokens) in results.items():
        np.testing.assert_allclose(vectors, alone[part::4], atol=1e-5)
        for got, want in zip(tokens, tokens_alone[part::4], strict=True):
            assert np.array_equal(got.ids, want.ids)
            np.testing.assert_allclose(got.vectors, want.vectors, atol=1e-4)


def test_the_batcher_runs_one_batch_per_lane_at_once():
    inside, release = threading.Semaphore(0), threading.Event()
    lanes_seen: list[int] = []

    def answer_many(questions):
        lanes_seen.append(lane_questions())
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
        assert lanes_seen[:2] == [1, 1] and sum(lanes_seen) == 9  # each batch in a lane
        sizes = batcher.batch_sizes
        assert sum(sizes) == 9 and sizes[:2] == [1, 1]
        assert max(sizes[2:]) <= 4 and len(sizes) >= 4  # 7 split, not one batch of 7
        threads = list(batcher._threads)
        assert len(threads) == 2
    finally:
        batcher.close()
    assert not any(t.is_alive() for t in threads)  # close() stops every worker


def test_at_rest_one_warm_worker_answers_every_question():
    threads = []
    batcher = MicroBatcher(lambda qs: threads.append(threading.get_ident()) or list(qs),
                           workers=2)
    try:
        for n in range(12):  # one visitor, one question after another
            assert batcher.submit(str(n)).result(5) == str(n)
            time.sleep(0.1 if n == 0 else 0.005)  # both workers are waiting again
        # after the first (whichever worker started waiting last), always the same one:
        # a plain queue wakes the longest waiter, so the two would alternate
        assert len(threads) == 12 and len(set(threads[1:])) == 1
    finally:
        batcher.close()


def test_one_worker_batches_alone_and_is_no_lane():
    seen = []
    batcher = MicroBatcher(lambda qs: seen.append(lane_questions()) or list(qs))
    try:
        assert batcher.submit("x").result(5) == "x"
        assert seen == [0]  # a single worker is no lane: its runs keep every core
    finally:
        batcher.close()


def test_a_server_on_onnx_answers_in_lanes_as_it_answers_alone(tmp_path, korero_index_dir,
                                                               korero_index):
    """Real HTTP, the ONNX encoder with one lane per core: 24 visitors at once get the
    answers each would get alone (the same passages, scores and verdict)."""
    onnx = Embedder(backend="onnx", cache_dir=Path(os.environ["POLICY_QA_MODEL_CACHE"]))
    settings = Settings(index=korero_index_dir, outbox=tmp_path / "outbox.sqlite3",
                        maildir=tmp_path / "maildir", analytics=tmp_path / "a.sqlite3",
                        requests_per_minute=0, cache_size=0)
    service = Service(settings, index=korero_index, embedder=onnx)
    questions = [f"{q} (visitor {n})" for n, q in enumerate(
        ["Do you sell my data?", "How long do you keep my e-mails?", "what cookies do you use",
         "can I delete my account", "who do you share my information with",
         "how do I contact your privacy team"] * 4)]
    alone = {q: service.ask(q).to_dict() for q in questions}
    app = create_app(settings, service=service, start_worker=False)
    assert app.state.batcher.workers == onnx.lanes >= 2  # one lane per core
    assert onnx._runner().serving and "one thread" in onnx._runner()._sessions
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as client, \
            ThreadPoolExecutor(len(questions)) as pool:
        replies = list(pool.map(lambda q: client.post("/api/ask", json={"question": q}),
                                questions))
    assert [r.status_code for r in replies] == [200] * len(questions)
    for question, reply in zip(questions, replies, strict=True):
        got, want = reply.json(), alone[question]
        assert got["resolved"] == want["resolved"] and got["answer"] == want["answer"]
        assert [p["anchor"] for p in got["passages"]] == [p["anchor"] for p in want["passages"]]
        assert [p["score"] for p in got["passages"]] == pytest.approx(
            [p["score"] for p in want["passages"]], abs=1e-4)
    one = create_app(settings.replace(lanes=1), service=service, start_worker=False)
    assert one.state.batcher.workers == 1  # POLICY_QA_LANES=1: one batch at a time
    with pytest.raises(ConfigError, match="lanes must be between 0 and 64"):
        Settings(lanes=-1)
