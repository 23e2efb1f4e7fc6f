"""Analytics: per-day counts, resolved rate, frequent unresolved questions, thumbs-down,
no raw client identifiers on disk, retention purge."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from index.errors import ConfigError
from qa.analytics import DAY, Analytics, normalise
from qa.answering.answer import Answer, Passage

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def answer(question: str, resolved: bool, kind: str | None = None,
           anchor: str = "when-would-we-share-your-information") -> Answer:
    passage = Passage("When would we share?", anchor, "https://x/#a", "quote", 0.6)
    return Answer(question, resolved, 0.61 if resolved else 0.3, "text", (passage,),
                  kind=kind or ("answer" if resolved else "unresolved"))


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def analytics(tmp_path: Path, clock: Clock) -> Analytics:
    return Analytics(tmp_path / "a.sqlite3", retention_days=30, clock=clock)


def test_questions_per_day_and_resolved_rate(analytics: Analytics, clock: Clock) -> None:
    analytics.record_answer(answer("Do you sell my data?", True), "1.2.3.4")
    analytics.record_answer(answer("Do you use cookies?", False), "1.2.3.4")
    clock.now += DAY
    analytics.record_answer(answer("How do I delete my account?", True), "5.6.7.8")
    analytics.record_answer(answer("hello", True, kind="smalltalk"), "5.6.7.8")
    assert analytics.questions_per_day() == [("2023-11-14", 2, 1), ("2023-11-15", 1, 1)]
    assert analytics.resolved_rate() == pytest.approx(2 / 3)
    assert analytics.questions_per_day(days=1) == [("2023-11-15", 1, 1)]


def test_empty_reports(analytics: Analytics) -> None:
    assert analytics.questions_per_day() == []
    assert analytics.resolved_rate() == 0.0
    assert analytics.top_unresolved() == []
    assert analytics.thumbs_down() == []


def test_top_unresolved_groups_case_and_punctuation(analytics: Analytics, clock: Clock) -> None:
    for q in ("Do you use cookies?", "do you use  cookies", "DO YOU USE COOKIES!!"):
        analytics.record_answer(answer(q, False), "c")
        clock.now += 1
    analytics.record_answer(answer("Is my data in the EU?", False), "c")
    analytics.record_answer(answer("Do you sell my data?", True), "c")
    top = analytics.top_unresolved()
    assert top == [("DO YOU USE COOKIES!!", 3), ("Is my data in the EU?", 1)]
    assert analytics.top_unresolved(n=1) == [("DO YOU USE COOKIES!!", 3)]


def test_thumbs_down_lists_unhelpful_answers_newest_first(analytics: Analytics,
                                                          clock: Clock) -> None:
    analytics.record_feedback("Q1", "A1", helpful=False, client="c")
    clock.now += 10
    analytics.record_feedback("Q2", "A2", helpful=True, client="c")
    clock.now += 10
    analytics.record_feedback("<img src=x onerror=alert(1)>", "A3", helpful=False, client="c")
    rows = analytics.thumbs_down()
    assert [r["question"] for r in rows] == ["<img src=x onerror=alert(1)>", "Q1"]
    assert rows[0]["answer"] == "A3" and rows[0]["day"] == "2023-11-14"
    assert rows[0]["at"].startswith("2023-11-14T22:13:40")


def test_raw_client_ip_never_stored(tmp_path: Path, analytics: Analytics) -> None:
    ip = "203.0.113.77"
    analytics.record_answer(answer("Do you sell my data?", True), ip)
    analytics.record_feedback("Do you sell my data?", "A", helpful=False, client=ip)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert ip.encode() not in raw
    with sqlite3.connect(analytics.path) as con:
        clients = {r[0] for r in con.execute("SELECT client FROM answers UNION "
                                             "SELECT client FROM feedback")}
    assert len(clients) == 1 and ip not in clients.pop()


def test_stored_fields(analytics: Analytics) -> None:
    analytics.record_answer(answer("  Do you\nsell\x00 my data? ", True, anchor="sell"), "c")
    with sqlite3.connect(analytics.path) as con:
        row = con.execute("SELECT day, kind, resolved, confidence, anchor, question "
                          "FROM answers").fetchone()
    assert row == ("2023-11-14", "answer", 1, 0.61, "sell", "Do you sell my data?")


def test_purge_applies_retention(analytics: Analytics, clock: Clock) -> None:
    analytics.record_answer(answer("old question", False), "c")
    analytics.record_feedback("old question", "A", helpful=False)
    clock.now += 29 * DAY
    analytics.record_answer(answer("new question", False), "c")
    assert analytics.purge(clock.now) == 0
    assert analytics.purge(T0 + 31 * DAY) == 2
    assert analytics.top_unresolved() == [("new question", 1)]
    assert analytics.thumbs_down() == []


def test_recording_purges_automatically(analytics: Analytics, clock: Clock) -> None:
    analytics.record_answer(answer("old question", False), "c")
    clock.now += 40 * DAY
    analytics.record_answer(answer("new question", False), "c")
    assert analytics.top_unresolved() == [("new question", 1)]


def test_wal_and_concurrent_writers(analytics: Analytics) -> None:
    with sqlite3.connect(analytics.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def work(i: int) -> None:
        for j in range(20):
            analytics.record_answer(answer(f"question {i} {j}", j % 2 == 0), str(i))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert analytics.questions_per_day() == [("2023-11-14", 80, 40)]


def test_batch_commits_once_and_is_invisible_until_then(analytics: Analytics) -> None:
    with analytics.batch():
        for i in range(5):
            analytics.record_answer(answer(f"question {i}", i % 2 == 0), "c")
        with sqlite3.connect(analytics.path) as other:  # another reader sees nothing yet
            assert other.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0
    assert analytics.questions_per_day() == [("2023-11-14", 5, 3)]


def test_batch_rolls_back_on_error_and_later_records_still_work(analytics: Analytics) -> None:
    with pytest.raises(RuntimeError), analytics.batch():
        analytics.record_answer(answer("lost with the batch", True), "c")
        raise RuntimeError("boom")
    analytics.record_answer(answer("kept", True), "c")
    assert analytics.questions_per_day() == [("2023-11-14", 1, 1)]


def test_background_recorder_writes_a_backlog_as_one_batch(analytics: Analytics) -> None:
    from ui.web.batching import BackgroundRecorder

    batches: list[int] = []
    gate = threading.Event()

    @contextmanager
    def counting_batch() -> Iterator[None]:
        gate.wait(5)
        with analytics.batch():
            yield
        batches.append(1)

    recorder = BackgroundRecorder(batch=counting_batch)
    try:
        for i in range(30):
            recorder.submit(analytics.record_answer, answer(f"q {i}", True), "c")
        recorder.submit(lambda: 1 / 0)  # one failing record loses nothing else
        gate.set()
        recorder.flush()
        assert analytics.questions_per_day() == [("2023-11-14", 30, 30)]
        assert len(batches) <= 2  # the backlog went in one or two commits, not 30
    finally:
        recorder.close()


def test_the_recorder_lingers_so_a_trickle_of_answers_is_one_commit(
        analytics: Analytics) -> None:
    from ui.web.batching import BackgroundRecorder

    recorder = BackgroundRecorder(batch=analytics.batch, linger=0.5)
    alone = BackgroundRecorder(batch=analytics.batch)  # no linger: a commit each
    try:
        for i in range(10):  # one answer every 20 ms, as a busy server records them
            recorder.submit(analytics.record_answer, answer(f"q {i}", True), "c")
            alone.submit(analytics.record_answer, answer(f"r {i}", True), "c")
            time.sleep(0.02)
        recorder.flush()
        alone.flush()
        assert analytics.questions_per_day() == [("2023-11-14", 20, 20)]
        assert recorder.batches <= 2 and alone.batches >= 8
        started = time.monotonic()
        recorder.close()  # closing does not wait out the linger
        assert time.monotonic() - started < 0.4
    finally:
        recorder.close()
        alone.close()


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="bad.sqlite3"):
        Analytics(bad)


def test_normalise_collapses_controls_and_caps_length() -> None:
    assert normalise("a\tb\r\nc\u200bd") == "a b c d"
    assert len(normalise("x" * 5000)) == 1000
    # what is drawn as nothing is dropped inside words, as in every stored visitor text
    # (qa.normalize.stored_text): bidi overrides, tag characters, a Hangul filler
    assert normalise("sel\u202el my da\U000e0041ta\u3164?") == "sell my data?"
    assert normalise("data\ud800?") == "data ?"  # a lone surrogate, which no encoder writes


def test_from_settings_and_service_answer(service, tmp_path: Path) -> None:
    analytics = Analytics.from_settings(service.settings)
    assert analytics.path == tmp_path / "analytics.sqlite3"
    analytics.record_answer(service.ask("Do you sell my data?"), "127.0.0.1")
    (day, total, _), = analytics.questions_per_day()
    assert total == 1
