"""Typo tolerance: misspelt words become the policy word they were meant to be, known
words and inflections are left alone, and the real pipeline answers a misspelt question
as it answers the spelt one."""

from __future__ import annotations

import pytest

from qa.answering.spelling import Speller, deletes, edit_distance

POLICY = ("We use cookies on our website. You may unsubscribe from these messages. "
          "Korero retains personal information. Persistent cookies remain on your drive.")
KNOWN = {"we", "use", "you", "do", "what", "merge", "delete", "the", "of", "from"}


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("cookies", "cookies", 0), ("cookeis", "cookies", 1), ("cookie", "cookies", 1),
    ("unsubscibe", "unsubscribe", 1), ("retians", "retains", 1), ("abc", "xyz", 3),
    ("", "abc", 3), ("ca", "abc", 3),  # optimal string alignment: no edits of a swap
])
def test_edit_distance(a: str, b: str, expected: int) -> None:
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected


def test_deletes_include_the_word_and_every_single_deletion() -> None:
    assert deletes("abc", 1) == {"abc", "bc", "ac", "ab"}
    assert "a" in deletes("abc", 2) and len(deletes("abcd", 2)) == 1 + 4 + 6


@pytest.mark.parametrize(("question", "expected"), [
    ("do you use cookeis", "do you use cookies"),
    ("how do I unsubscibe?", "how do I unsubscribe?"),
    ("Persistnet COOKEIS", "persistent cookies"),
    ("what if you merge, or merges, or deleting", "what if you merge, or merges, or deleting"),
    ("do you use cookies", "do you use cookies"),  # already right
    ("what about zzzzqqq", "what about zzzzqqq"),  # nothing near: left alone
    ("use coke", "use coke"),  # 4 letters, unknown, but no policy word within one edit
])
def test_corrects_only_unknown_words_to_near_policy_words(question: str, expected: str) -> None:
    assert Speller(POLICY, KNOWN).correct(question) == expected


def test_short_words_are_never_touched() -> None:
    assert Speller("cat", set()).correct("cta act") == "cta act"


def test_runs_of_letters_too_long_to_be_a_typo_are_neither_indexed_nor_looked_up(
        monkeypatch) -> None:
    import qa.answering.spelling as spelling

    lengths: list[int] = []
    real = spelling.deletes
    monkeypatch.setattr(spelling, "deletes", lambda w, n: lengths.append(len(w)) or real(w, n))
    long_word = "x" * 979  # a hostile question: one 1,000-letter "word" took a minute
    speller = Speller(POLICY + " " + "q" * 500, KNOWN)
    assert speller.correct(f"Do you sell my data? {long_word} cookeis") == \
        f"Do you sell my data? {long_word} cookies"
    assert lengths and max(lengths) <= spelling.MAX_WORD


def test_real_pipeline_answers_a_misspelt_question_like_the_spelt_one(service) -> None:
    typo, right = service.ask_many(["do you use cookeis", "do you use cookies"])
    assert typo.question == "do you use cookeis"  # the question is kept as asked
    assert typo.resolved and right.resolved
    assert typo.passages[0].anchor == right.passages[0].anchor == (
        "what-tracking-technologies-do-we-utilize")
    assert typo.passages[0].quote == right.passages[0].quote
