"""Evaluation metrics: pure functions, each returning an overall score plus one score
per question (the shape of haystack's evaluators, e.g. `DocumentMRREvaluator`).

Ranked lists hold whatever identifies a place an answer may be found: section
anchors for the Korero sets, paragraph numbers for PolicyQA. For PolicyQA a quoted
passage is *located* in the paragraphs it comes from (the 6-word-run rule below),
and an answer's reading list is its located paragraphs in passage order, without
repeats; a passage located in three paragraphs spends three places of k.

A place may be known by several labels (`Alternatives`): a paragraph the source gives
its own id is one place, found by a label naming that id or the section it is in.

Escalation metrics count "escalate" (the answer is unresolved) as the positive class
and unanswerable questions as the ones that should be escalated.

`python -m qa.evaluation …` runs the evaluation script (see `qa.evaluation.command`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass

from qa import normalize

RUN = 6  # words per run in the location rule


class Alternatives(tuple):
    """One place with several labels, e.g. (a paragraph's own id, the section it is in):
    it counts once and matches a gold label equal to any of them."""

    def __str__(self) -> str:
        return "|".join(map(str, self))


def matches(place: Hashable, gold: Collection[Hashable]) -> bool:
    if isinstance(place, Alternatives):
        return any(label in gold for label in place)
    return place in gold


@dataclass(frozen=True)
class Score:
    """An overall score (None when undefined, e.g. no question of that kind) and the
    per-question scores it is the mean of."""

    score: float | None
    individual_scores: tuple[float, ...]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _check_lengths(*columns: Sequence) -> None:
    if len({len(c) for c in columns}) > 1:
        lengths = ", ".join(str(len(c)) for c in columns)
        raise ValueError(f"inputs must have one entry per question; got lengths {lengths}")


# --- retrieval -------------------------------------------------------------------

def first_rank(ranked: Sequence[Hashable], gold: Collection[Hashable]) -> int | None:
    """1-based position of the first gold item in a ranked list, or None."""
    return next((i for i, item in enumerate(ranked, 1) if matches(item, gold)), None)


def hit_at_k(ranked_lists: Sequence[Sequence[Hashable]],
             gold_sets: Sequence[Collection[Hashable]], k: int) -> Score:
    """1.0 per question when a gold item is among the first k places, else 0.0."""
    if k < 1:
        raise ValueError(f"k must be at least 1. Currently, k is {k}")
    _check_lengths(ranked_lists, gold_sets)
    scores = tuple(float(any(matches(item, gold) for item in ranked[:k]))
                   for ranked, gold in zip(ranked_lists, gold_sets, strict=True))
    return Score(_mean(scores), scores)


def mrr(ranked_lists: Sequence[Sequence[Hashable]],
        gold_sets: Sequence[Collection[Hashable]]) -> Score:
    """Mean reciprocal rank of the first gold item (0 when none is listed)."""
    _check_lengths(ranked_lists, gold_sets)
    scores = []
    for ranked, gold in zip(ranked_lists, gold_sets, strict=True):
        rank = first_rank(ranked, gold)
        scores.append(1.0 / rank if rank else 0.0)
    return Score(_mean(scores), tuple(scores))


def hit_curve(ranked_lists: Sequence[Sequence[Hashable]],
              gold_sets: Sequence[Collection[Hashable]],
              ks: Iterable[int] = range(1, 11)) -> dict[int, float | None]:
    return {k: hit_at_k(ranked_lists, gold_sets, k).score for k in ks}


def reading_list(located: Iterable[Iterable[Hashable]]) -> list[Hashable]:
    """The places of an answer's passages, in passage order, without repeats."""
    seen: set[Hashable] = set()
    out: list[Hashable] = []
    for places in located:
        for place in places:
            if place not in seen:
                seen.add(place)
                out.append(place)
    return out


# --- the location rule -------------------------------------------------------------

def words(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens, stop words kept and nothing stemmed (`qa.normalize.words`):
    a run must match the passage's own words, not their stems."""
    return tuple(normalize.words(text))


def runs(tokens: Sequence[str], n: int = RUN) -> frozenset[tuple[str, ...]]:
    """The n-word runs of a text; a text shorter than n words is one run of all of it."""
    if len(tokens) < n:
        return frozenset([tuple(tokens)]) if tokens else frozenset()
    return frozenset(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class Located:
    """A text prepared for the location rule (its words and 6-word runs)."""

    tokens: tuple[str, ...]
    runs: frozenset[tuple[str, ...]]

    @classmethod
    def of(cls, text: str) -> Located:
        tokens = words(text)
        return cls(tokens, runs(tokens))


def shares_runs(a: Located, b: Located) -> bool:
    """True when the texts share at least half of the smaller text's 6-word runs. A
    text shorter than 6 words is found when its whole word sequence occurs in the
    other text."""
    if not a.tokens or not b.tokens:
        return False
    small, big = sorted((a, b), key=lambda t: len(t.tokens))
    n = len(small.tokens)
    if n < RUN:
        return any(big.tokens[i : i + n] == small.tokens for i in range(len(big.tokens) - n + 1))
    return 2 * len(small.runs & big.runs) >= len(small.runs)


def locate(passage: str | Located, paragraphs: Sequence[Located]) -> list[int]:
    """Positions of the paragraphs a quoted passage is located in, in document order."""
    quote = passage if isinstance(passage, Located) else Located.of(passage)
    return [i for i, paragraph in enumerate(paragraphs) if shares_runs(quote, paragraph)]


# --- resolution and escalation ---------------------------------------------------------

def resolved_rate(resolved: Sequence[bool]) -> Score:
    """Share of questions resolved (call it on the answerable or unanswerable ones)."""
    scores = tuple(float(r) for r in resolved)
    return Score(_mean(scores), scores)


@dataclass(frozen=True)
class Escalation:
    """Escalation as a classifier: positive = escalated (unresolved); it should be
    exactly the unanswerable questions. Rates are None when undefined."""

    precision: float | None
    recall: float | None  # = unanswerable-unresolved rate
    f1: float | None
    answerable_resolved: float | None
    balanced_accuracy: float | None
    individual_scores: tuple[float, ...]  # 1.0 where the decision was right

    def to_dict(self) -> dict[str, float | None]:
        return {
            "escalation_precision": self.precision,
            "escalation_recall": self.recall,
            "escalation_f1": self.f1,
            "answerable_resolved": self.answerable_resolved,
            "unanswerable_unresolved": self.recall,
            "balanced_accuracy": self.balanced_accuracy,
        }


def escalation(escalated: Sequence[bool], answerable: Sequence[bool]) -> Escalation:
    _check_lengths(escalated, answerable)
    tp = sum(e and not a for e, a in zip(escalated, answerable, strict=True))
    fp = sum(e and a for e, a in zip(escalated, answerable, strict=True))
    fn = sum(not e and not a for e, a in zip(escalated, answerable, strict=True))
    tn = sum(not e and a for e, a in zip(escalated, answerable, strict=True))
    precision = tp / (tp + fp) if tp + fp else (None if tp + fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    kept = tn / (tn + fp) if tn + fp else None
    balanced = (recall + kept) / 2 if recall is not None and kept is not None else None
    right = tuple(float(e != a) for e, a in zip(escalated, answerable, strict=True))
    return Escalation(precision, recall, f1, kept, balanced, right)


def balanced_accuracy(escalated: Sequence[bool], answerable: Sequence[bool]) -> Score:
    """Mean of the answerable-resolved and unanswerable-unresolved rates."""
    result = escalation(escalated, answerable)
    return Score(result.balanced_accuracy, result.individual_scores)


# --- threshold calibration ---------------------------------------------------------

@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    balanced_accuracy: float
    answerable_resolved: float
    unanswerable_unresolved: float
    f1: float


@dataclass(frozen=True)
class Sweep:
    """The trade-off curve over every distinct decision and the threshold that
    maximises balanced accuracy (resolved iff confidence >= threshold)."""

    curve: tuple[SweepPoint, ...]
    best: SweepPoint

    def to_dict(self) -> dict:
        return {
            "best_threshold": round(self.best.threshold, 6),
            "balanced_accuracy": self.best.balanced_accuracy,
            "answerable_resolved": self.best.answerable_resolved,
            "unanswerable_unresolved": self.best.unanswerable_unresolved,
            "curve": [[round(p.threshold, 6), p.balanced_accuracy, p.answerable_resolved,
                       p.unanswerable_unresolved] for p in self.curve],
        }


def threshold_sweep(confidences: Sequence[float], answerable: Sequence[bool]) -> Sweep:
    """Try a threshold in every gap between distinct confidences (midpoints), at the
    lowest one (all resolved) and just above the highest (none resolved). Ties in
    balanced accuracy go to the middle candidate of the tied ones."""
    _check_lengths(confidences, answerable)
    if all(answerable) or not any(answerable):
        raise ValueError("calibration needs both answerable and unanswerable questions")
    values = sorted(set(confidences))
    candidates = [values[0]]
    candidates += [(lo + hi) / 2 for lo, hi in zip(values, values[1:], strict=False)]
    candidates.append(math.nextafter(values[-1], math.inf))
    curve = []
    for t in candidates:
        result = escalation([c < t for c in confidences], answerable)
        assert result.balanced_accuracy is not None and result.recall is not None
        curve.append(SweepPoint(t, result.balanced_accuracy, result.answerable_resolved or 0.0,
                                result.recall, result.f1 or 0.0))
    top = max(p.balanced_accuracy for p in curve)
    tied = [p for p in curve if p.balanced_accuracy >= top - 1e-12]
    return Sweep(tuple(curve), tied[(len(tied) - 1) // 2])

