"""How one encoder call splits texts into model runs: the cheapest partition of the
texts, sorted by token count, into runs of neighbours (`partition`).

Each run pads its texts to its longest one, and on this CPU a run's time is roughly a
fixed cost (the model's 90 MB of weights stream from memory whatever the batch) plus a
cost per padded token. One run for everything pads short questions to the longest;
one run per length wastes the fixed cost. The optimum is an exact dynamic programme
over the sorted lengths (n ≤ a few hundred texts, so O(n × batch) steps is nothing
next to one run).
"""

from __future__ import annotations

from collections.abc import Sequence

# A run's fixed cost in padded tokens: `scripts/run_costs.py` fits a run's time as a
# fixed part plus a part per padded token; three runs here gave ratios of 18, 22 and 36
# (a fixed 1.7-3.2 ms, about 0.09 ms a token). The optimum moves little across that span.
RUN_COST_TOKENS = 24


def partition(lengths: Sequence[int], most: int,
              run_cost: int = RUN_COST_TOKENS) -> list[tuple[int, int]]:
    """[start, end) runs over `lengths` (sorted ascending) of at most `most` texts each,
    minimising Σ (run_cost + texts × longest)."""
    if any(b < a for a, b in zip(lengths, lengths[1:], strict=False)):
        raise ValueError("lengths must be sorted ascending")
    if most < 1:
        raise ValueError("a run holds at least one text")
    n = len(lengths)
    best = [0] + [0] * n
    start = [0] * (n + 1)
    for end in range(1, n + 1):
        width = lengths[end - 1]  # the longest of any run ending here
        best[end], start[end] = min(
            (best[s] + run_cost + (end - s) * width, s)
            for s in range(max(0, end - most), end))
    runs: list[tuple[int, int]] = []
    end = n
    while end > 0:
        runs.append((start[end], end))
        end = start[end]
    return runs[::-1]
