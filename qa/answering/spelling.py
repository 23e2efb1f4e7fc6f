"""Typo-tolerant questions: a misspelt word is replaced by the policy word it was meant
to be ("do you use cookeis" -> "do you use cookies") before the question is embedded
and scored, because the embedding model splits an unknown spelling into fragments that
match nothing.

Only words the model's tokenizer does not know as a whole word (nor as a known word
plus a common ending such as "merges" or "deleting"), of 4 to 30 letters, are
touched, and only by a word of the policy itself within one edit (two for words of 8+
letters; an edit is an insertion, deletion, substitution or swap of neighbours).
Candidates come from a deletion index (the SymSpell idea), so a lookup costs a few set
probes, not a scan of the vocabulary.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from itertools import combinations

# Not qa/normalize.py's tokenize: the speller must see the raw words as typed (case kept,
# stop words kept, nothing stemmed) because it substitutes them in place in the question,
# and it compares them with the model's whole-word vocabulary, which holds no stems.
_WORD = re.compile(r"[A-Za-z]+")
MIN_LENGTH = 4
LONG_WORD = 8  # from this length on, two edits are allowed
# Longer runs of letters are no typo of a word (the longest English words in policies,
# "telecommunications", "pseudonymisation", have under 20). Neither indexed nor
# corrected: a word's deletions grow with the square of its length, and one 1,000-letter
# "word" in a question took a minute to look up before this cap.
MAX_WORD = 30
# Not a stemmer: endings whose removal may give a word the vocabulary knows ("merges" ->
# "merge"); a Snowball stem ("merg") is usually no word at all.
_ENDINGS = ("ing", "ies", "ed", "es", "er", "ly", "s", "d")


def max_edits(word: str) -> int:
    return 2 if len(word) >= LONG_WORD else 1


def deletes(word: str, edits: int) -> set[str]:
    """Every string made by deleting up to `edits` letters of `word` (itself included)."""
    return {"".join(word[i] for i in range(len(word)) if i not in gone)
            for n in range(edits + 1) for gone in combinations(range(len(word)), n)}


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


class Speller:
    def __init__(self, policy_text: str, known: Iterable[str]) -> None:
        words = [w.lower() for w in _WORD.findall(policy_text)]
        self.frequency = Counter(w for w in words if len(w) >= MIN_LENGTH)
        self.known = frozenset(known) | frozenset(self.frequency)
        self._index: dict[str, set[str]] = {}
        for word in self.frequency:
            if len(word) > MAX_WORD:
                continue
            for key in deletes(word, max_edits(word)):
                self._index.setdefault(key, set()).add(word)
        self._fix = functools.lru_cache(maxsize=4096)(self._fix_word)

    def correct(self, question: str) -> str:
        """The question with each misspelt word replaced; unchanged when none is."""
        return _WORD.sub(lambda m: self._fix(m.group()), question)

    def knows(self, word: str) -> bool:
        """A word of the model's vocabulary or the policy, maybe with a common ending."""
        if word in self.known:
            return True
        for ending in _ENDINGS:
            stem = word[: -len(ending)]
            if word.endswith(ending) and len(stem) >= 3 and (
                    stem in self.known or stem + "e" in self.known
                    or (ending == "ies" and stem + "y" in self.known)):
                return True
        return False

    def _fix_word(self, word: str) -> str:
        lower = word.lower()
        if not MIN_LENGTH <= len(lower) <= MAX_WORD or self.knows(lower):
            return word
        edits = max_edits(lower)
        candidates = {c for key in deletes(lower, edits) for c in self._index.get(key, ())}
        scored = sorted((edit_distance(lower, c), -self.frequency[c], c) for c in candidates)
        scored = [s for s in scored if s[0] <= edits]
        return scored[0][2] if scored else word
