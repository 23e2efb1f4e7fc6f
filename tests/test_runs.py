"""index/runs.py: the cheapest split of an encoder call into model runs."""

from itertools import combinations

import pytest

from index.runs import partition


def _cost(lengths, runs, run_cost):
    return sum(run_cost + (b - a) * lengths[b - 1] for a, b in runs)


def _brute_force(lengths, most, run_cost):
    n = len(lengths)
    best = None
    for k in range(n):
        for cuts in combinations(range(1, n), k):
            bounds = [0, *cuts, n]
            runs = list(zip(bounds, bounds[1:], strict=False))
            if all(b - a <= most for a, b in runs):
                cost = _cost(lengths, runs, run_cost)
                best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("lengths", [
    [3, 3, 3, 3], [3, 20, 21, 22, 60], [5, 6, 7, 30, 31, 32, 33, 90],
    [12] * 9 + [40], [2, 4, 8, 16, 32, 64, 128]])
@pytest.mark.parametrize("most", [1, 3, 64])
def test_partition_is_the_cheapest_contiguous_split(lengths, most):
    runs = partition(lengths, most, run_cost=24)
    assert runs[0][0] == 0 and runs[-1][1] == len(lengths)
    assert all(a < b and b - a <= most for a, b in runs)
    assert all(x[1] == y[0] for x, y in zip(runs, runs[1:], strict=False))  # no gap
    assert _cost(lengths, runs, 24) == _brute_force(lengths, most, 24)


def test_short_words_leave_the_questions_run_and_equal_lengths_share_one():
    # a batch of questions plus one word the decision needs: the word runs alone once
    # padding it costs more than a run; a word next to short questions joins their run
    assert partition([3] + [40] * 30, 64, run_cost=24) == [(0, 1), (1, 31)]
    assert partition([3] + [25] * 30, 64, run_cost=24) == [(0, 31)]
    assert partition([25] * 30, 64) == [(0, 30)]
    assert len(partition([25] * 30, 8)) == 4  # the fewest runs the cap allows
    assert partition([], 64) == []


def test_partition_refuses_unsorted_lengths_and_empty_runs():
    with pytest.raises(ValueError):
        partition([5, 3], 64)
    with pytest.raises(ValueError):
        partition([3, 5], 0)
