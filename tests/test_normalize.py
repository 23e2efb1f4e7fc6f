"""qa/normalize.py: one question cleaner, one question key (answer cache, escalation
dedupe, analytics grouping) and one tokenizer/stemmer."""

from __future__ import annotations

import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qa.service
from index.errors import QuestionError
from qa import normalize
from qa.normalize import clean_question, question_key, stem, tokenize, words

KEY = "do you sell my data"


@pytest.mark.parametrize("variant", [
    "Do you sell my data?", "do you sell my data", "DO YOU SELL MY DATA!!!",
    "  Do you\tsell   my\ndata ? ", "do you sell my data...", "\u00bfDo you sell my data?",
    "\u201cDo you sell my data?\u201d", "Do you sell my data?\u200b", "Do\x00you sell my data",
    "\uff24\uff4f you sell my data\uff1f",  # full-width letters and question mark (NFKC)
])
def test_the_key_forgets_case_spacing_and_surrounding_punctuation(variant: str) -> None:
    assert question_key(variant) == KEY


def test_the_key_keeps_the_words_and_the_punctuation_inside() -> None:
    assert question_key("Do you e-mail me?") != question_key("Do you email me?")
    assert question_key("Don\u2019t you keep it?") == question_key("don't you keep it") \
        == "don't you keep it"  # a typographic apostrophe is the same apostrophe
    assert question_key("Do you sell my data?") != question_key("Do you sell my date?")


@pytest.mark.parametrize("text", ["", "   ", "?!? ...", "\u200b\u200b"])
def test_a_question_of_punctuation_alone_has_the_empty_key(text: str) -> None:
    assert question_key(text) == ""


@given(st.text())
def test_the_key_is_stable_under_surrounding_space_and_punctuation(text: str) -> None:
    key = question_key(text)
    assert question_key(f"  {text} ?! ") == key
    assert key == key.strip()
    key.encode("utf-8")  # hashable as UTF-8 even from lone surrogates (dedupe hashes it)


def test_the_service_cleans_with_the_one_cleaner() -> None:
    assert qa.service.clean_question is normalize.clean_question


def test_clean_question_collapses_controls_and_whitespace_and_composes() -> None:
    assert clean_question("  Do\x00you\u200bsell \n\t my data? ", 100) == "Do you sell my data?"
    assert clean_question("cafe\u0301?", 100) == "caf\u00e9?"
    # bidi and zero-width marks, the BOM and tag characters (hidden "ASCII smuggling"
    # text) are dropped: they were stored verbatim for the console and exports (audit)
    hidden = "Do\u061c you\u2060 sell\ufeff my \U000e0041\U000e0042data\u202e?\ue000"
    assert clean_question(hidden, 100) == "Do you sell my data?"
    # default-ignorable letters and selectors, drawn as nothing (a re-test found them kept)
    fillers = "Do\u034f you\u3164 sell\u115f my\ufe0f data?"
    assert clean_question(fillers, 100) == "Do you sell my data?"
    assert clean_question("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", 100) == (
        "\u0645\u06cc\u062e\u0648\u0627\u0647\u0645")  # ZWNJ is a format character too


@pytest.mark.parametrize(("question", "limit", "message"), [
    (None, 100, "question must be a string"),
    (42, 100, "question must be a string"),
    ("", 100, "question is empty; type a question about the privacy policy"),
    (" \n\t\x00\u200b ", 100, "question is empty; type a question about the privacy policy"),
    ("Do you sell my data?", 10, "question is 20 characters long; the limit is 10"),
    ("why \ud800", 100, "question is not valid Unicode text (lone surrogates)"),
])
def test_clean_question_raises_the_same_errors(question: object, limit: int,
                                               message: str) -> None:
    with pytest.raises(QuestionError) as info:
        clean_question(question, limit)
    assert str(info.value) == message


def test_tokenize_drops_stop_words_and_stems() -> None:
    assert tokenize("How do I delete my account?") == ["delet", "account"]
    assert len({stem(w) for w in ("delete", "deleted", "deletes", "deleting")}) == 1
    assert tokenize("Cookies, cookie") == [stem("cookies"), stem("cookie")] == ["cooki"] * 2
    assert tokenize("don't") == ["don't"]  # an in-word apostrophe stays in the word


def test_words_are_the_plain_lower_case_words() -> None:
    assert words("How do I delete my e-mail_address?") == [
        "how", "do", "i", "delete", "my", "e", "mail_address"]


def test_stemming_is_the_same_from_many_threads() -> None:
    texts = [f"sharing deleted cookies policies processing {i}" for i in range(200)]
    expected = [tokenize(t) for t in texts]
    stem.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(tokenize, texts)) == expected


def test_cache_dedupe_and_analytics_keys_agree() -> None:
    """The cache, the analytics grouping and the escalation dedupe use the one key."""
    from qa.analytics import _key as analytics_key
    from qa.escalation.records import dedupe_key

    variants = ["Do you sell my data?", "  do you SELL my   data ", "DO YOU SELL MY DATA!!",
                "Do you sell my data\u2009?"]
    assert len({question_key(v) for v in variants}) == 1
    assert len({analytics_key(v) for v in variants}) == 1
    assert len({dedupe_key(v) for v in variants}) == 1
    assert analytics_key(variants[0]) == question_key(variants[0])
    other = "Do you sell my e-mail?"
    assert len({question_key(other), analytics_key(other)}) == 1
    assert dedupe_key(other) != dedupe_key("Do you sell my email?")  # as the cache


def test_mail_text_drops_what_stored_text_drops() -> None:
    """One test of "drawn as nothing" (normalize.invisible) for stored text and mails:
    a rights request's details, cleaned by the mail's body_text, lose a Hangul filler
    too (it kept them)."""
    from qa.escalation.mail import body_text, one_line

    assert body_text("Account\u3164 ana\u034f\nsince\ufe0f 2024\u202e") == "Account ana\nsince 2024"
    assert one_line("Do\u3164 you\u200b sell\n my data?", 100) == "Do you sell my data?"


def _key_by_the_general_rule(text: str) -> str:
    """question_key's rule spelled out for any text (its ASCII shortcut must agree)."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(
        str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"}))
    spaced = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in folded)
    out = " ".join(spaced.split())
    while out and (out[0].isspace() or unicodedata.category(out[0])[0] == "P"):
        out = out[1:]
    while out and (out[-1].isspace() or unicodedata.category(out[-1])[0] == "P"):
        out = out[:-1]
    return out


@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.text())
def test_the_ascii_shortcut_keys_as_the_general_rule(text: str) -> None:
    assert question_key(text) == _key_by_the_general_rule(text)
