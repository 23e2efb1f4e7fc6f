"""A question that asks for an amount is answered only by a quote that gives one.

"How many days do you keep server logs?" is a near-miss the retrieval signals cannot
tell from an answerable question: the policy's retention section matches every word of
it, whether it names a number of days or only "as long as necessary". Question
answering has long used the *expected answer type* for this. Four kinds are read from
the question's wording, where a clause starts with them or after a polite frame ("can
you tell me how long…"; so "Do you count how many times I click?" is a yes/no question,
not a request for a number):

* `price` — "how much does … cost / charge / fee", "how much do I have to pay": a
  currency amount, or "free of charge", "no fee", "you will not have to pay";
* `units` — "how many days / weeks / months / years …": a number (or "a", "several")
  with a unit of time, "thirty (30) days" included, not an age ("13 years old"); or
  none kept at all ("we do not store…", "discarded immediately");
* `duration` — "how long", "how soon", "how quickly", "until when": as `units`, or a
  span in words ("as long as", "until", "without undue delay", …);
* `count` — any other "how many": a number in digits or words, not a year, a section
  or a fraction ("2016/679"); or none at all ("we do not sell it to any third party").

Dates ("when was this updated?") are not a kind: a policy's date is often glossed into
the answer rather than quoted. `missing_amount` is the one entry point: the kind the
question asks for when none of the quotes shown gives it, else None. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qa.normalize import question_key

__all__ = ["AMOUNT_RULE", "KIND_WORDS", "asks_for", "gives", "missing_amount"]

_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                 "fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
                 "fifty|sixty|seventy|eighty|ninety|hundred|thousand|dozen")
_UNIT_WORD = r"(?:second|minute|hour|day|week|month|year|business day|calendar day)"
_UNIT = _UNIT_WORD + "s?"
# where a clause starts: the question's start (after any quote marks or list number), a
# punctuation mark, a conjunction, or a polite frame ("can you tell me how long …")
_START = (r"(?:^[\W\d_]*|[,.;:?!(\u2014-]\s*|\b(?:and|but|so|also|exactly|roughly|"
          r"approximately|just|then|ok|okay|tell me|(?:like|want|need) to know|wondering|"
          r"wonder|curious(?: about)?|asking)\s+)")
_KINDS = (
    ("price", re.compile(_START + r"how much\b(?:[^?]{0,80}?\b(?:cost|costs|charge|charges|"
                                  r"price|fee|fees)\b|(?: \w+){1,4} pay\b)", re.I)),
    ("units", re.compile(_START + r"(?:for )?how many " + _UNIT + r"\b", re.I)),
    ("duration", re.compile(_START + r"(?:for )?(?:how long|how soon|how quickly|until when)"
                            r"\b", re.I)),
    ("count", re.compile(_START + r"how many\b", re.I)),
)
_NEGATION = r"\b(?:not|never|no|none|don't|doesn't|won't|cannot|can't)\b"
# a count: a number that is not a year, a legal reference or a fraction, or none at all
_NUMBER = re.compile(r"(?<![/\d§])(?<!section )(?<!article )(?<!art\. )\b(?!(?:19|20)\d\d\b)"
                     r"\d+(?:[.,]\d+)?\b(?!/)|\b(?:" + _NUMBER_WORDS + r"|several|few|none|"
                     r"no one|nobody)\b|\b(?:do|does|did|will|would) not\b|\bnever\b", re.I)
# an amount of time: "30 days", "thirty (30) days", "a year"; not an age ("13 years old")
_AMOUNT_OF_TIME = re.compile(
    r"(?:\b(?:\d+|" + _NUMBER_WORDS + r"|several|few)(?:\s*\(\d+\))?[\s-]*" + _UNIT
    + r"|\ban? (?!second\b)" + _UNIT_WORD + r")\b(?!\s+(?:of age|old)\b)", re.I)
# none kept at all, which answers "how long" and "how many days" too
_ZERO = re.compile(r"\b(?:do|does|will|would) not (?:keep|store|retain|log|record|save)|"
                   r"\bnever (?:keep|store|retain|log|record|save)|\bimmediately\b", re.I)
_SPAN = re.compile(r"\b(?:as long as|until|no longer than|for the (?:duration|life|period|"
                   r"length)|indefinitely|permanently|promptly|without undue delay|"
                   r"within a reasonable (?:time|period)|for as long|only as long)\b", re.I)
_PRICE = re.compile(r"[$\u20ac\u00a3]\s*\d|\b\d+(?:[.,]\d+)?\s*(?:[\u20ac\u00a3$]|usd|eur|gbp|chf|"
                    r"dollars?|euros?|pounds?|francs?)(?!\w)|\b(?:usd|eur|gbp|chf)\s*\d|"
                    r"\bfree of charge\b|\bfor free\b|\bat no (?:cost|charge)\b|"
                    r"\bwithout (?:a |any )?(?:charge|fee|cost)\b|\bno (?:charge|fee|cost)\b|"
                    r"\b(?:is|are) free\b(?! to)|"
                    + _NEGATION + r"\s+(?:\w+\s+){0,3}?(?:pay|charged?|charges)\b", re.I)
_GIVES = {
    "price": lambda text: bool(_PRICE.search(text)),
    "units": lambda text: bool(_AMOUNT_OF_TIME.search(text) or _ZERO.search(text)),
    "duration": lambda text: bool(_AMOUNT_OF_TIME.search(text) or _ZERO.search(text)
                                  or _SPAN.search(text)),
    "count": lambda text: bool(_NUMBER.search(text)),
}
AMOUNT_RULE = ("unresolved when the question asks for an amount (how many days, how long, "
               "how much does it cost, how many) that no quote shown gives")
KIND_WORDS = {"price": "a price", "units": "a number of days, months or years",
              "duration": "how long", "count": "a number"}


def asks_for(question: str) -> str | None:
    """The kind of amount the question asks for, or None. Read from the question's
    cache key (qa/normalize.py: NFKC, case-folded, end punctuation stripped), so two
    questions that share a cached answer always share its kind."""
    key = question_key(question)
    return next((kind for kind, pattern in _KINDS if pattern.search(key)), None)


def gives(kind: str, text: str) -> bool:
    """Whether the text states an amount of that kind."""
    return _GIVES[kind](text)


def missing_amount(question: str, quotes: Iterable[str]) -> str | None:
    """The kind of amount the question asks for when no quote gives one, else None."""
    kind = asks_for(question)
    if kind is None or any(gives(kind, quote) for quote in quotes):
        return None
    return kind
