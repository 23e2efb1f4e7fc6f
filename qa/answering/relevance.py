"""Which passages are worth showing a visitor: near the best one, and on the topic.

Retrieval always returns its k best chunks, and the ones after the first are often
there only because they are close in the embedding space to everything: boilerplate
("Capitalized terms that are not defined…", "We may update this policy from time to
time", "If you have any questions…"). The rule, applied to every passage but the best
one of a resolved answer (which the threshold already vouched for):

- a passage scoring more than SHOWN_MARGIN below the best one is not shown;
- a passage must share a content word with the question (stemmed, qa/normalize.py),
  words every privacy policy is full of ("data", "information", "privacy", "policy",
  …) not counting. An unresolved answer's passages are all held to it, the first too:
  "These passages came closest" should not offer a licence notice for "are you SOC 2
  certified?".
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.answering.lead import mentioned
from qa.normalize import tokenize
from qa.records import Passage

__all__ = ["SHOWN_MARGIN", "on_topic", "shown"]

SHOWN_MARGIN = 0.12  # a passage scoring this much below the best one is not shown
GENERIC = frozenset(tokenize(
    "data information info personal details privacy policy notice policies use used using "
    "uses service services site website websites app company please tell know like want "
    "need get make way thing things stuff guys ok okay"))


def content_words(text: str) -> set[str]:
    return set(tokenize(text)) - GENERIC


def on_topic(question: str, quote: str) -> bool:
    """True if the quote has a content word of the question (generic words aside; a
    typo away counts: "cookei" finds "cooki")."""
    words = content_words(quote)
    return any(mentioned(w, words) for w in content_words(question))


def shown(passages: Sequence[Passage], question: str | None = None, *,
          resolved: bool = True) -> tuple[Passage, ...]:
    """The passages worth a visitor's time, best first (module docstring). Without a
    question only the margin applies."""
    if not passages:
        return ()
    best = passages[0].score
    out = []
    for i, p in enumerate(passages):
        if p.score < best - SHOWN_MARGIN:
            continue
        vouched = resolved and i == 0
        if question is not None and not vouched and not on_topic(question, p.quote):
            continue
        out.append(p)
    return tuple(out)
