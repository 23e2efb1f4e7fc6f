"""A question that asks for an amount is answered only by a quote that gives one.

"How many days do you keep server logs?" is a near-miss the retrieval signals cannot
tell from an answerable question: the policy's retention section matches every word of
it, whether it names a number of days or only "as long as necessary". Question
answering has long used the *expected answer type* for this. Four kinds are read from
the question's wording, where a clause starts with them (so "Do you count how many
times I click?" is a yes/no question, not a request for a number):

* `price` — "how much does … cost / charge / pay / fee": a currency amount, or "free
  of charge", "no fee";
* `units` — "how many days / weeks / months / years …": a number (or "a", "several")
  with a unit of time;
* `duration` — "how long", "how soon", "how quickly", "until when": an amount of time,
  or a span in words ("as long as", "until", "within", "without undue delay", …);
* `count` — any other "how many": a number, in digits or words.

Dates ("when was this updated?") are not a kind: a policy's date is often glossed into
the answer rather than quoted. `missing_amount` is the one entry point: the kind the
question asks for when none of the quotes shown gives it, else None. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["AMOUNT_RULE", "KIND_WORDS", "asks_for", "gives", "missing_amount"]

_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
                 "twenty|thirty|forty|fifty|sixty|ninety|hundred|thousand")
_UNIT = r"(?:second|minute|hour|day|week|month|year|business day|calendar day)s?"
_START = (r"(?:^|[,.;:?!(\u2014-]\s*|\b(?:and|but|so|also|exactly|roughly|approximately|"
          r"just|then|ok|okay)\s+)")
_KINDS = (
    ("price", re.compile(_START + r"how much\b[^?.]*\b(?:cost|costs|charge|price|pay|fee)",
                         re.I)),
    ("units", re.compile(_START + r"(?:for )?how many " + _UNIT + r"\b", re.I)),
    ("duration", re.compile(_START + r"(?:for )?(?:how long|how soon|how quickly|until when)"
                            r"\b", re.I)),
    ("count", re.compile(_START + r"how many\b", re.I)),
)
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b|\b(?:" + _NUMBER_WORDS + r"|several|few)\b", re.I)
_AMOUNT_OF_TIME = re.compile(r"\b(?:\d+|" + _NUMBER_WORDS + r"|several|few|a|an)[\s-]*"
                             + _UNIT + r"\b", re.I)
_SPAN = re.compile(r"\b(?:as long as|until|no longer than|for the (?:duration|life|period|"
                   r"length)|indefinitely|permanently|immediately|promptly|without undue "
                   r"delay|within|for as long|only as long)\b", re.I)
_PRICE = re.compile(r"[$\u20ac\u00a3]\s*\d|\b\d+(?:\.\d+)?\s*(?:usd|eur|gbp|dollars?|euros?|"
                    r"pounds?)\b|\bfree of charge\b|\bno (?:charge|fee|cost)\b|"
                    r"\b(?:is|are) free\b", re.I)
_GIVES = {
    "price": lambda text: bool(_PRICE.search(text)),
    "units": lambda text: bool(_AMOUNT_OF_TIME.search(text)),
    "duration": lambda text: bool(_AMOUNT_OF_TIME.search(text) or _SPAN.search(text)),
    "count": lambda text: bool(_NUMBER.search(text)),
}
AMOUNT_RULE = ("unresolved when the question asks for an amount (how many days, how long, "
               "how much does it cost, how many) that no quote shown gives")
KIND_WORDS = {"price": "a price", "units": "a number of days, months or years",
              "duration": "how long", "count": "a number"}


def asks_for(question: str) -> str | None:
    """The kind of amount the question asks for, or None."""
    return next((kind for kind, pattern in _KINDS if pattern.search(question)), None)


def gives(kind: str, text: str) -> bool:
    """Whether the text states an amount of that kind."""
    return _GIVES[kind](text)


def missing_amount(question: str, quotes: Iterable[str]) -> str | None:
    """The kind of amount the question asks for when no quote gives one, else None."""
    kind = asks_for(question)
    if kind is None or any(gives(kind, quote) for quote in quotes):
        return None
    return kind
