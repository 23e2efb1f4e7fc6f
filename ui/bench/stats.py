"""Latency statistics shared by the in-process and HTTP benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean, in milliseconds (nearest-rank percentiles)."""
    if not len(seconds):
        return {"n": 0}
    values = np.asarray(seconds, dtype=float) * 1000
    p50, p95, p99 = np.percentile(values, [50, 95, 99], method="inverted_cdf")
    return {"n": len(values), "p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3),
            "p99_ms": round(float(p99), 3), "mean_ms": round(float(values.mean()), 3)}


# ordinary words (not stop words) that make questions distinct: after their first use
# a server knows them, as it knows the words of real visitors' questions
WORDS = ("amber", "bridge", "cedar", "delta", "ember", "forest", "garden", "harbor",
         "island", "jasper", "kettle", "lantern", "meadow", "nectar", "orchard", "pepper",
         "quarry", "river", "saddle", "timber")


def distinct(questions: Sequence[str], count: int, tag: str) -> list[str]:
    """`count` questions, every one different (no cache hit): the questions in turn,
    each with a suffix of three of WORDS, e.g. "Do you sell my data? (ref amber river
    cedar)". `tag` ("ref", "raw") keeps one run's questions apart from another's."""
    base, n = list(dict.fromkeys(questions)), len(WORDS)
    if count > n ** 3 * len(base):
        raise ValueError(f"at most {n ** 3 * len(base)} distinct questions")
    out = []
    for i in range(count):
        combo = i // len(base)
        words = (WORDS[combo % n], WORDS[combo // n % n], WORDS[combo // (n * n) % n])
        out.append(f"{base[i % len(base)]} ({tag} {' '.join(words)})")
    return out


def numbered(questions: Sequence[str], count: int, tag: str) -> list[str]:
    """`count` different questions each carrying a number never seen before: a word the
    server must embed for every question (a harder load than real traffic)."""
    return [f"{questions[i % len(questions)]} ({tag} {i})" for i in range(count)]
