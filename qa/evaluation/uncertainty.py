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

Both treat each question as drawn on its own from the questions visitors ask. A set
made of clusters (PolicyQA's questions come one website at a time) varies more across
clusters than these intervals show.

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


def intervals(records: Sequence[Record]) -> dict[str, dict[str, float | int]]:
    """Each rate's value, Wilson interval and count; a rate with no records is left out."""
    out: dict[str, dict[str, float | int]] = {}
    for metric in RATES:
        values = outcomes(records, metric)
        bounds = wilson(int(values.sum()), len(values))
        if bounds is not None:
            out[metric] = {"value": round(float(values.mean()), 6), "low": round(bounds[0], 6),
                           "high": round(bounds[1], 6), "n": len(values)}
    return out


def _same_questions(a: Sequence[Record], b: Sequence[Record]) -> None:
    if [(r["question"], r["group"]) for r in a] != [(r["question"], r["group"]) for r in b]:
        raise ValueError("a paired comparison needs both systems' records for the same "
                         "questions in the same order")


def _draws(n: int, rng: np.random.Generator, resamples: int) -> np.ndarray:
    return rng.integers(0, n, size=(resamples, n))


def _rate_differences(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                      resamples: int) -> np.ndarray:
    idx = _draws(len(a), rng, resamples)
    return (a[idx] - b[idx]).mean(axis=1)


def paired_difference(a: Sequence[Record], b: Sequence[Record], metric: str,
                      resamples: int = RESAMPLES, seed: int = SEED
                      ) -> dict[str, float | int] | None:
    """`metric` of system a minus system b on the same questions, with a paired
    bootstrap interval; None when the metric is undefined on these records."""
    _same_questions(a, b)
    if metric != "balanced_accuracy":
        return paired_rate_difference(outcomes(a, metric), outcomes(b, metric), resamples,
                                      seed)
    parts = [(outcomes(a, m), outcomes(b, m))
             for m in ("answerable_resolved", "unanswerable_unresolved")]
    if any(not len(x) or len(x) != len(y) for x, y in parts):
        return None
    rng = np.random.default_rng(seed)
    diffs = sum(_rate_differences(x, y, rng, resamples) for x, y in parts) / 2
    point = sum(float(x.mean() - y.mean()) for x, y in parts) / 2
    n = sum(len(x) for x, _ in parts)
    low, high = np.quantile(diffs, [0.025, 0.975])
    return {"difference": round(point, 6), "low": round(float(low), 6),
            "high": round(float(high), 6), "n": n}


def paired_rate_difference(a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES,
                           seed: int = SEED) -> dict[str, float | int] | None:
    """mean(a) - mean(b) for 0/1 outcomes of the same questions, in the same order, with
    a paired bootstrap interval; None when there are none (or the lengths differ)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or len(a) != len(b):
        return None
    diffs = _rate_differences(a, b, np.random.default_rng(seed), resamples)
    low, high = np.quantile(diffs, [0.025, 0.975])
    return {"difference": round(float(a.mean() - b.mean()), 6), "low": round(float(low), 6),
            "high": round(float(high), 6), "n": len(a)}


def differences(ours: Sequence[Record], other: Sequence[Record]
                ) -> dict[str, dict[str, float | int]]:
    """Ours minus another system on DIFFERENCES (those defined on the records)."""
    out = {}
    for metric in DIFFERENCES:
        found = paired_difference(ours, other, metric)
        if found is not None:
            out[metric] = found
    return out
