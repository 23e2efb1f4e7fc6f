"""95% intervals for an evaluation's figures (qa/evaluation/uncertainty.py)."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from qa.evaluation.report import uncertainty_lines
from qa.evaluation.uncertainty import (
    differences,
    intervals,
    outcomes,
    paired_difference,
    paired_rate_difference,
    wilson,
)


def record(question: str, answerable: bool, rank: int | None = None,
           resolved: bool | None = True) -> dict:
    return {"question": question, "group": "", "answerable": answerable, "rank": rank,
            "resolved": resolved}


@pytest.mark.parametrize(("k", "n"), [(0, 10), (5, 10), (10, 10), (82, 101), (19, 27)])
def test_wilson_matches_scipy(k, n):
    found = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((found.low, found.high), abs=1e-9)


def test_wilson_is_undefined_without_questions_and_rejects_impossible_counts():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="between 0 and n"):
        wilson(11, 10)


def test_intervals_count_each_rate_over_its_own_questions():
    records = ([record(f"a{i}", True, rank=1) for i in range(6)]
               + [record(f"b{i}", True, rank=3, resolved=False) for i in range(2)]
               + [record(f"c{i}", True, rank=None) for i in range(2)]
               + [record(f"u{i}", False, resolved=i < 1) for i in range(4)])
    found = intervals(records)
    assert found["hit@1"]["value"] == 0.6 and found["hit@1"]["n"] == 10
    assert found["hit@3"]["value"] == 0.8 and found["hit@5"]["value"] == 0.8
    assert found["answerable_resolved"]["value"] == 0.8
    assert found["unanswerable_unresolved"]["value"] == 0.75
    assert found["unanswerable_unresolved"]["n"] == 4
    for v in found.values():
        assert v["low"] <= v["value"] <= v["high"]
    # a wider set with the same rate is surer
    assert (intervals(records * 4)["hit@1"]["high"] - intervals(records * 4)["hit@1"]["low"]
            < found["hit@1"]["high"] - found["hit@1"]["low"])


def test_rates_undefined_on_the_records_are_left_out():
    found = intervals([record("a", True, rank=2, resolved=None)])
    assert set(found) == {"hit@1", "hit@3", "hit@5"}


def test_a_system_against_itself_differs_by_nothing():
    records = [record(f"a{i}", True, rank=1 + i % 4) for i in range(20)]
    records += [record(f"u{i}", False, resolved=i % 2 == 0) for i in range(8)]
    for found in differences(records, records).values():
        assert found["difference"] == found["low"] == found["high"] == 0.0


def test_a_clearly_better_system_has_an_interval_above_zero_and_a_tie_does_not():
    better = [record(f"a{i}", True, rank=1) for i in range(40)]
    worse = [record(f"a{i}", True, rank=1 if i < 20 else 4) for i in range(40)]
    found = paired_difference(better, worse, "hit@1")
    assert found["difference"] == 0.5 and 0 < found["low"] < 0.5 < found["high"]
    one_off = [record(f"a{i}", True, rank=1 if i else 2) for i in range(40)]
    close = paired_difference(better, one_off, "hit@1")
    assert close["low"] <= 0 < close["difference"]
    assert paired_difference(better, worse, "hit@1") == found  # seeded: reproducible


def test_balanced_accuracy_difference_weighs_both_classes_the_same():
    ours = ([record(f"a{i}", True) for i in range(30)]
            + [record(f"u{i}", False, resolved=False) for i in range(10)])
    other = ([record(f"a{i}", True) for i in range(30)]
             + [record(f"u{i}", False, resolved=i < 5) for i in range(10)])
    found = paired_difference(ours, other, "balanced_accuracy")
    assert found["difference"] == pytest.approx(0.25)  # UU 1.0 vs 0.5, AR equal
    assert found["n"] == 40 and found["low"] > 0
    assert paired_difference(ours[:30], other[:30], "balanced_accuracy") is None


def test_a_comparison_needs_the_same_questions():
    with pytest.raises(ValueError, match="same questions"):
        paired_difference([record("a", True, 1)], [record("b", True, 1)], "hit@1")


def test_the_text_report_shows_each_interval_and_difference():
    records = [record(f"a{i}", True, rank=1 + i % 2) for i in range(10)]
    records += [record(f"u{i}", False, resolved=False) for i in range(5)]
    report = {"systems": {"ours": {"intervals": intervals(records)},
                          "bm25": {"intervals": intervals(records)}},
              "differences": {"bm25": differences(records, records)}}
    text = "\n".join(uncertainty_lines(report))
    assert "hit@1 0.500 [0.237, 0.763] n=10" in text
    assert "UU 1.000 [0.566, 1.000] n=5" in text
    assert "bm25      hit@1 +0.000 [+0.000, +0.000]" in text


def grouped(question: str, group: str, hit: bool, answerable: bool = True,
            resolved: bool = True) -> dict:
    return {**record(question, answerable, rank=1 if hit else None, resolved=resolved),
            "group": group}


def test_questions_from_several_policies_are_resampled_a_policy_at_a_time():
    """Ten websites whose questions all succeed or all fail: 200 questions, but only ten
    independent outcomes, so the interval is far wider than Wilson's over 200."""
    records = [grouped(f"q{g}-{i}", f"site{g}", g < 5) for g in range(10) for i in range(20)]
    found = intervals(records)["hit@1"]
    assert found["value"] == 0.5 and found["n"] == 200 and found["groups"] == 10
    low, high = wilson(100, 200)
    assert found["high"] - found["low"] > 2.5 * (high - low)
    assert found["low"] < 0.3 and found["high"] > 0.7
    assert intervals([record(f"a{i}", True, 1) for i in range(5)])["hit@1"]["groups"] == 1
    text = "\n".join(uncertainty_lines({"systems": {"ours": {"intervals": intervals(records)}}}))
    assert "n=200 in 10 groups" in text


def test_a_paired_difference_over_several_policies_resamples_whole_policies():
    ours = [grouped(f"q{g}-{i}", f"site{g}", True) for g in range(10) for i in range(20)]
    other = [grouped(f"q{g}-{i}", f"site{g}", g % 2 == 0) for g in range(10) for i in range(20)]
    found = paired_difference(ours, other, "hit@1")
    assert found["difference"] == 0.5 and found["groups"] == 10
    questionwise = paired_rate_difference(outcomes(ours, "hit@1"), outcomes(other, "hit@1"))
    assert found["high"] - found["low"] > 2 * (questionwise["high"] - questionwise["low"])
    assert paired_difference(ours, ours, "hit@1")["high"] == 0.0
    mixed = ours + [grouped(f"u{g}", f"site{g}", False, answerable=False, resolved=g < 3)
                    for g in range(10)]
    ba = paired_difference(mixed, mixed, "balanced_accuracy")
    assert ba["difference"] == ba["low"] == ba["high"] == 0.0 and ba["groups"] == 10
