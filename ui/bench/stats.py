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
