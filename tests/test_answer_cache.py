"""The Service's answer cache (qa/answer_cache.py): least recently used out, one entry
per question key, the question as asked this time."""

from __future__ import annotations

from qa.answer_cache import AnswerCache
from qa.records import Answer


def _answer(question: str) -> Answer:
    return Answer(question, True, 0.9, f"about {question}")


def test_one_entry_per_question_key_with_the_question_as_asked() -> None:
    cache = AnswerCache(4)
    cache.put("Do you sell my data?", _answer("Do you sell my data?"))
    hit = cache.get("do you sell my data")
    assert hit is not None and hit.question == "do you sell my data"
    assert hit.answer == "about Do you sell my data?" and len(cache) == 1


def test_the_least_recently_used_goes_first() -> None:
    cache = AnswerCache(2)
    cache.put("first question", _answer("first question"))
    cache.put("second question", _answer("second question"))
    assert cache.get("first question") is not None  # now the most recent
    cache.put("third question", _answer("third question"))
    assert cache.get("second question") is None
    assert cache.get("first question") is not None and cache.get("third question")


def test_size_zero_keeps_nothing_and_clear_empties() -> None:
    none = AnswerCache(0)
    answer = _answer("a question")
    assert none.put("a question", answer) is answer and none.get("a question") is None
    cache = AnswerCache(3)
    cache.put("a question", answer)
    cache.clear()
    assert cache.get("a question") is None and len(cache) == 0
