"""Questions and words, one way for the whole code base.

- `clean_question`: the question as every face of the product treats it (control
  characters out, Unicode NFC, runs of whitespace collapsed), or QuestionError naming
  what is wrong with it.
- `question_key`: the one key under which questions count as the same, for the answer
  cache, the escalation dedupe and the analytics grouping (see its docstring).
- `tokenize` / `stem`: the content words of a text, stemmed (Snowball), for lexical
  scoring; `words`: its plain lower-case words, for the evaluation's location rule and
  the BM25 baseline, which see text without stop words or stemming.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

import Stemmer

from index.errors import QuestionError
from index.stopwords import STOPWORDS

_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# invisible characters: format (bidi marks, zero-width, BOM, tag characters used to hide
# text), private use, unassigned; control characters become spaces
_INVISIBLE = frozenset({"Cf", "Co", "Cn"})
# Unicode's other default-ignorable code points (not format characters, yet drawn as
# nothing): combining grapheme joiner, Hangul fillers, Mongolian and other variation
# selectors
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f"
                        "\uffa0\U000e0100-\U000e01ef]")
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"})

STEMMER = "english"  # Snowball's English (Porter2) stemmer, as PyStemmer names it
_CONTENT_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # keeps "don't", "user's" whole
_WORD = re.compile(r"\w+")
_local = threading.local()  # a PyStemmer Stemmer is not thread-safe: one per thread


# --- questions -----------------------------------------------------------------------

def clean_question(question: object, max_chars: int, what: str = "question") -> str:
    """The question as we will treat it, or QuestionError naming what is wrong (`what`:
    how the visitor's text is called, "message" for a rights request)."""
    if not isinstance(question, str):
        raise QuestionError(f"{what} must be a string")
    text = unicodedata.normalize("NFC", visible(question))
    text = " ".join(text.split())
    if not text:
        raise QuestionError(f"{what} is empty; type a question about the privacy policy"
                            if what == "question" else f"{what} is empty")
    if len(text) > max_chars:
        raise QuestionError(
            f"{what} is {len(text)} characters long; the limit is {max_chars}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError(f"{what} is not valid Unicode text (lone surrogates)") from None
    return text


def invisible(char: str) -> bool:
    """Whether `char` is drawn as nothing: a format, private-use or unassigned character,
    or another default-ignorable one (`_IGNORABLE`). The one test for stored visitor
    text (`visible`) and for mail text (qa/escalation/mail.py)."""
    return unicodedata.category(char) in _INVISIBLE or _IGNORABLE.match(char) is not None


def stored_text(text: str) -> str:
    """`visible(text)` with lone surrogates (which no encoder writes) as spaces: for
    visitor text kept without `clean_question`'s check, which refuses them instead."""
    seen = visible(text)
    return seen if seen.isascii() else "".join(
        " " if "\ud800" <= char <= "\udfff" else char for char in seen)


def visible(text: str) -> str:
    """`text` without invisible characters; control characters and the zero-width space
    as spaces."""
    if text.isascii():
        return _ASCII_CONTROL.sub(" ", text)
    spaced = (" " if char == "\u200b" or unicodedata.category(char) == "Cc"  # parts words
              else "" if invisible(char) else char for char in text)
    return "".join(spaced)


def question_key(text: str) -> str:
    """The key under which questions are the same: NFKC, case-folded, typographic
    apostrophes as `'`, control characters and runs of whitespace as one space, and
    punctuation at either end stripped ("Do you sell my data?" == " do you  SELL my
    data "). A question of punctuation alone has the key "".

    Punctuation inside the question is kept: the answer cache returns one question's
    answer for another with the same key, so the key may only forget what retrieval
    does not see (the model is uncased; a closing "?" barely moves a vector), while
    "e-mail" vs "email" or "don't" vs "do not" may rank differently. Case, spacing and
    closing punctuation are also what makes one visitor's repeated question differ, so
    the same key serves the dedupe and the analytics grouping."""
    return _question_key(str(text))


@functools.lru_cache(maxsize=1024)  # the answer cache asks twice a question (get, put)
def _question_key(text: str) -> str:
    if text.isascii():  # NFKC leaves ASCII as it is; its "C" characters are 0-31 and 127
        spaced = _ASCII_CONTROL.sub(" ", text.lower())
    else:
        folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
        spaced = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in folded)
    return _strip_punctuation(" ".join(spaced.split()))


def _strip_punctuation(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_edge(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] == "P"


# --- words ---------------------------------------------------------------------------

def words(text: str) -> list[str]:
    """The lower-case words of a text (runs of letters, digits and `_`), stop words kept,
    nothing stemmed."""
    return _WORD.findall(text.lower())


def tokenize(text: str) -> list[str]:
    """The stemmed lower-case content words of a text (stop words dropped), for BM25
    and a sentence's share of the question's words."""
    return [stem(w) for w in _CONTENT_WORD.findall(text.lower()) if w not in STOPWORDS]


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem of a lower-case word ("deleting" and "deletes" -> "delet")."""
    return _stemmer().stemWord(word)


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer(STEMMER, 0)  # lru_cache above caches
    return stemmer
