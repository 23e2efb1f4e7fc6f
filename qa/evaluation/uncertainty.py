"""How sure an evaluation's figures are, from its per-question records.

A labelled set is small (25 unanswerable questions on a policy: one question moves the
rate by 0.04), so a figure alone does not say whether a target is missed or a change
helped. Two kinds of interval, both at 95 %:

- a **rate** (hit@k over the answerable questions, answerable resolved, unanswerable
  unresolved) gets a Wilson score interval over the questions it counts;
- the **difference** between two systems on the same questions (ours minus a baseline)
  gets a paired bootstrap: questions are resampled with replacement, the same draw for
  both systems, and balanced accuracy resamples the answerable and the unanswerable
  questions separately (a draw keeps each class's size). The draws are seeded, so a
  report is reproducible; an interval that excludes 0 is a difference the set shows.

Both treat each question as drawn on its own from the questions visitors ask, unless
the records name several groups (PolicyQA's questions come one website at a time): then
both bootstrap whole groups instead (a rate pooled over the groups drawn), because
questions of one website succeed or fail together more than questions of different ones.

Pure functions over the records `qa.evaluation.score.score_run` writes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
RESAMPLES = 2000
SEED = 20261206
Record = dict[str, Any]

# metric -> (the records it counts, the outcome of one record)
RATES: dict[str, tuple[Callable[[Record], bool], Callable[[Record], bool]]] = {
    "hit@1": (lambda r: r["answerable"], lambda r: r["rank"] is not None and r["rank"] <= 1),
    "hit@3": (lambda r: r["answerable"], lambda r: r["rank"] is not None and r["rank"] <= 3),
    "hit@5": (lambda r: r["answerable"], lambda r: r["rank"] is not None and r["rank"] <= 5),
    "answerable_resolved": (lambda r: r["answerable"] and r["resolved"] is not None,
                            lambda r: bool(r["resolved"])),
    "unanswerable_unresolved": (lambda r: not r["answerable"] and r["resolved"] is not None,
                                lambda r: not r["resolved"]),
}
DIFFERENCES = ("hit@1", "hit@3", "balanced_accuracy")


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a rate of `successes` in `n` (None when n is 0)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n}); got {successes}")
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def outcomes(records: Sequence[Record], metric: str) -> np.ndarray:
    """0/1 per record the metric counts (empty when it counts none)."""
    counts, outcome = RATES[metric]
    return np.array([outcome(r) for r in records if counts(r)], dtype=float)


def clusters(records: Sequence[Record], metric: str) -> list[str]:
    """The group (policy) of each record the metric counts, in the same order."""
    counts, _ = RATES[metric]
    return [str(r.get("group", "")) for r in records if counts(r)]


class _Draws:
    """Bootstrap draws over questions or, when the questions come from several groups
    (PolicyQA's websites), over whole groups: each draw is a list of groups taken with
    replacement, and a rate is pooled over the questions of the groups drawn."""

    def __init__(self, labels: Sequence[str], rng: np.random.Generator, resamples: int):
        self.names = sorted(set(labels))
        self.clustered = len(self.names) > 1
        units = len(self.names) if self.clustered else len(labels)
        self.idx = rng.integers(0, units, size=(resamples, units))

    def rates(self, values: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """The rate of `values` in every draw (NaN where a draw counts no question)."""
        if not self.clustered:
            return values[self.idx].mean(axis=1)
        where = {name: i for i, name in enumerate(self.names)}
        inverse = np.array([where[label] for label in labels], dtype=np.int64)
        sums = np.bincount(inverse, weights=values, minlength=len(self.names))
        counts = np.bincount(inverse, minlength=len(self.names)).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums[self.idx].sum(axis=1) / counts[self.idx].sum(axis=1)


def _bounds(draws: np.ndarray) -> tuple[float, float]:
    low, high = np.nanquantile(draws, [0.025, 0.975])
    return round(float(low), 6), round(float(high), 6)


def intervals(records: Sequence[Record], resamples: int = RESAMPLES, seed: int = SEED
              ) -> dict[str, dict[str, float | int]]:
    """Each rate's value, 95% interval, count of questions and of groups; a rate with no
    records is left out. One group: Wilson; several: a bootstrap over groups."""
    out: dict[str, dict[str, float | int]] = {}
    for metric in RATES:
        values, labels = outcomes(records, metric), clusters(records, metric)
        if not len(values):
            continue
        groups = len(set(labels))
        if groups > 1:
            draws = _Draws(labels, np.random.default_rng(seed), resamples)
            low, high = _bounds(draws.rates(values, labels))
        else:
            low, high = wilson(int(values.sum()), len(values))  # type: ignore[misc]
        out[metric] = {"value": round(float(values.mean()), 6), "low": round(low, 6),
                       "high": round(high, 6), "n": len(values), "groups": groups}
    return out


def _same_questions(a: Sequence[Record], b: Sequence[Record]) -> None:
    if ([(r["question"], r.get("group", "")) for r in a]
            != [(r["question"], r.get("group", "")) for r in b]):
        raise ValueError("a paired comparison needs both systems' records for the same "
                         "questions in the same order")


def paired_difference(a: Sequence[Record], b: Sequence[Record], metric: str,
                      resamples: int = RESAMPLES, seed: int = SEED
                      ) -> dict[str, float | int] | None:
    """`metric` of system a minus system b on the same questions, with a paired
    bootstrap interval (over groups when there are several); None when the metric is
    undefined on these records."""
    _same_questions(a, b)
    if metric != "balanced_accuracy":
        return paired_rate_difference(outcomes(a, metric), outcomes(b, metric), resamples,
                                      seed, clusters(a, metric))
    parts = [(outcomes(a, m), outcomes(b, m), clusters(a, m))
             for m in ("answerable_resolved", "unanswerable_unresolved")]
    if any(not len(x) or len(x) != len(y) for x, y, _ in parts):
        return None
    groups = [str(r.get("group", "")) for r in a]
    rng = np.random.default_rng(seed)
    if len(set(groups)) > 1:  # the same groups drawn for both classes
        draws = _Draws(groups, rng, resamples)
        diffs = sum(draws.rates(x, g) - draws.rates(y, g) for x, y, g in parts) / 2
    else:  # each class resampled on its own, keeping its size
        diffs = sum(_Draws(g, rng, resamples).rates(x - y, g) for x, y, g in parts) / 2
    point = sum(float(x.mean() - y.mean()) for x, y, _ in parts) / 2
    low, high = _bounds(diffs)
    return {"difference": round(point, 6), "low": low, "high": high,
            "n": sum(len(x) for x, _, _ in parts), "groups": len(set(groups))}


def paired_rate_difference(a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES,
                           seed: int = SEED, groups: Sequence[str] | None = None
                           ) -> dict[str, float | int] | None:
    """mean(a) - mean(b) for 0/1 outcomes of the same questions, in the same order, with
    a paired bootstrap interval (over `groups` when they name several); None when there
    are none (or the lengths differ)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or len(a) != len(b):
        return None
    labels = list(groups) if groups is not None else [""] * len(a)
    draws = _Draws(labels, np.random.default_rng(seed), resamples)
    diffs = (draws.rates(a, labels) - draws.rates(b, labels) if draws.clustered
             else draws.rates(a - b, labels))
    low, high = _bounds(diffs)
    return {"difference": round(float(a.mean() - b.mean()), 6), "low": low, "high": high,
            "n": len(a), "groups": len(draws.names)}


def differences(ours: Sequence[Record], other: Sequence[Record]
                ) -> dict[str, dict[str, float | int]]:
    """Ours minus another system on DIFFERENCES (those defined on the records)."""
    out = {}
    for metric in DIFFERENCES:
        found = paired_difference(ours, other, metric)
        if found is not None:
            out[metric] = found
    return out
