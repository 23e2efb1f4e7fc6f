"""The evaluation metrics on small hand-computed cases, and `policy-qa eval` end to end
on a tiny policy with the real packaged model."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from qa.evaluation.metrics import (
    Alternatives,
    Located,
    balanced_accuracy,
    escalation,
    first_rank,
    hit_at_k,
    hit_curve,
    locate,
    mrr,
    reading_list,
    resolved_rate,
    shares_runs,
    threshold_sweep,
)
from ui.cli.main import main

ROOT = Path(__file__).resolve().parent.parent

# --- ranking metrics -----------------------------------------------------------------

RANKED = [["a", "b", "c"], ["x", "y"], [], ["d", "e", "f"]]
GOLD = [{"b"}, {"z"}, {"a"}, {"d", "f"}]


def test_hit_at_k_counts_a_gold_item_among_the_first_k():
    assert hit_at_k(RANKED, GOLD, 1).individual_scores == (0.0, 0.0, 0.0, 1.0)
    assert hit_at_k(RANKED, GOLD, 1).score == 0.25
    assert hit_at_k(RANKED, GOLD, 2).score == 0.5
    assert hit_curve(RANKED, GOLD, range(1, 4)) == {1: 0.25, 2: 0.5, 3: 0.5}


def test_hit_at_k_rejects_bad_input():
    with pytest.raises(ValueError, match="k must be at least 1"):
        hit_at_k(RANKED, GOLD, 0)
    with pytest.raises(ValueError, match="one entry per question"):
        hit_at_k(RANKED, GOLD[:2], 1)
    assert hit_at_k([], [], 3).score is None


def test_mrr_is_the_mean_reciprocal_rank_of_the_first_gold_item():
    result = mrr(RANKED, GOLD)
    assert result.individual_scores == (0.5, 0.0, 0.0, 1.0)
    assert result.score == pytest.approx(1.5 / 4)
    assert mrr([["a", "b", "c"]], [{"c", "b"}]).score == 0.5


def test_reading_list_keeps_passage_order_without_repeats():
    assert reading_list([[1], [1, 2], [0], [2]]) == [1, 2, 0]
    assert reading_list([("privacy-policy",), ("sharing", "privacy-policy")]) == [
        "privacy-policy", "sharing"]


def test_a_paragraph_with_its_own_id_is_one_place_under_either_label():
    """`{: #personal-info }` inside "Things you should know": a label naming the section
    finds the paragraph at rank 1, as does one naming its id; it spends one place."""
    paragraph = Alternatives(("personal-info", "things-you-should-know"))
    ranked = [reading_list([(paragraph,), ("cookies",)])]
    assert ranked == [[paragraph, "cookies"]]
    for gold in ({"things-you-should-know"}, {"personal-info"}):
        assert first_rank(ranked[0], gold) == 1 and hit_at_k(ranked, [gold], 1).score == 1.0
    assert first_rank(ranked[0], {"donations"}) is None
    assert str(paragraph) == "personal-info|things-you-should-know"


def test_ours_and_the_baselines_place_a_paragraph_id_in_its_section(embedder):
    """On Mozilla's websites notice (paragraph ids from attribute lists) every system's
    passage from such a paragraph counts for its section: the first place matches a
    section label whenever the first passage is in that section."""
    from index.policy import load_policy
    from index.store import build_index
    from qa.evaluation.systems import BM25System, place

    policy = ROOT / "tests/data/policies/mozilla/websites_privacy_notice.md"
    index = build_index(load_policy(policy), embedder)
    inside = [c for c in index.chunks if c.anchor == "personal-info"]
    assert inside and all(c.section_anchor == "things-you-should-know" for c in inside)
    assert place(index, inside[0]) == Alternatives(("personal-info", "things-you-should-know"))
    answer = BM25System(index).answer_many(["job applicants Greenhouse resume"])[0]
    assert answer.places[0] == (Alternatives(("personal-info", "things-you-should-know")),)
    assert first_rank(reading_list(answer.places), {"things-you-should-know"}) == 1


# --- escalation metrics -----------------------------------------------------------------

ESCALATED = [True, True, False, False, True]
ANSWERABLE = [False, True, True, False, False]  # tp=2 (0, 4), fp=1 (1), fn=1 (3), tn=1 (2)


def test_escalation_precision_recall_f1_and_balanced_accuracy():
    result = escalation(ESCALATED, ANSWERABLE)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)
    assert result.f1 == pytest.approx(2 / 3)
    assert result.answerable_resolved == pytest.approx(1 / 2)
    assert result.balanced_accuracy == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert result.individual_scores == (1.0, 0.0, 1.0, 0.0, 1.0)
    assert balanced_accuracy(ESCALATED, ANSWERABLE).score == pytest.approx(7 / 12)


def test_escalation_metrics_are_none_when_undefined():
    all_answerable = escalation([False, True], [True, True])
    assert all_answerable.recall is None
    assert all_answerable.balanced_accuracy is None
    assert all_answerable.precision == 0.0  # it escalated one that it should not have
    assert all_answerable.answerable_resolved == 0.5
    never = escalation([False, False], [False, True])
    assert never.precision == 0.0 and never.recall == 0.0 and never.f1 == 0.0


def test_resolved_rate():
    assert resolved_rate([True, False, True, True]).score == 0.75
    assert resolved_rate([]).score is None


# --- threshold sweep --------------------------------------------------------------------

def test_threshold_sweep_finds_the_balanced_accuracy_maximum():
    sweep = threshold_sweep([0.9, 0.8, 0.3, 0.2, 0.6], [True, True, False, False, False])
    thresholds = [p.threshold for p in sweep.curve]
    assert thresholds[:5] == pytest.approx([0.2, 0.25, 0.45, 0.7, 0.85])
    assert thresholds[5] > 0.9  # nothing resolved
    assert sweep.best.threshold == pytest.approx(0.7)
    assert sweep.best.balanced_accuracy == 1.0
    at_045 = sweep.curve[2]
    assert at_045.unanswerable_unresolved == pytest.approx(2 / 3)
    assert at_045.balanced_accuracy == pytest.approx(5 / 6)
    assert sweep.curve[0].balanced_accuracy == 0.5  # everything resolved
    assert sweep.curve[-1].balanced_accuracy == 0.5  # everything escalated


def test_threshold_sweep_breaks_ties_at_the_middle_candidate():
    # 0.25 and 0.7 both give balanced accuracy 0.75
    sweep = threshold_sweep([0.9, 0.5, 0.4, 0.1], [True, False, True, False])
    assert max(p.balanced_accuracy for p in sweep.curve) == 0.75
    assert sweep.best.threshold == pytest.approx(0.25)
    assert json.dumps(sweep.to_dict())


def test_threshold_sweep_needs_both_kinds_of_question():
    with pytest.raises(ValueError, match="both answerable and unanswerable"):
        threshold_sweep([0.5, 0.6], [True, True])


# --- the 6-word-run location rule ---------------------------------------------------

P0 = "We collect your name and email address when you sign up for an account."
P1 = "We never sell your personal information to third parties for any reason at all."
P2 = "You can delete your account at any time from the settings page of the app."
PARAGRAPHS = [Located.of(p) for p in (P0, P1, P2)]


def test_a_quote_is_located_in_the_paragraph_it_comes_from():
    assert locate(P1, PARAGRAPHS) == [1]
    assert locate("WE NEVER SELL your personal-information to third parties!", PARAGRAPHS) == [1]
    assert locate("Something else entirely, not in this policy at all.", PARAGRAPHS) == []


def test_half_of_the_smaller_texts_runs_must_be_shared():
    # 3 of the quote's 6-word runs come from P1
    base = "we never sell your personal information to third"
    assert locate(base + " xx yy", PARAGRAPHS) == [1]  # 3 of 5 runs
    assert locate(base + " xx yy zz", PARAGRAPHS) == [1]  # 3 of 6: exactly half
    assert locate(base + " xx yy zz ww", PARAGRAPHS) == []  # 3 of 7


def test_texts_shorter_than_six_words_use_their_whole_word_sequence():
    assert locate("settings page", PARAGRAPHS) == [2]
    assert locate("page settings", PARAGRAPHS) == []
    short_paragraph = [Located.of("Contact us."), Located.of("Sign up today.")]
    assert locate("If you have questions, please contact us by e-mail.", short_paragraph) == [0]
    assert not shares_runs(Located.of(""), Located.of("anything at all"))


def test_a_chunk_spanning_three_paragraphs_spends_three_places():
    chunk = f"{P0}\n\n{P1}\n\n{P2}"
    assert locate(chunk, PARAGRAPHS) == [0, 1, 2]
    gold = [{2}]
    chunk_list = [reading_list([locate(chunk, PARAGRAPHS)])]
    quote_list = [reading_list([locate(P2, PARAGRAPHS), locate(P0, PARAGRAPHS)])]
    assert hit_at_k(chunk_list, gold, 1).score == 0.0
    assert hit_at_k(chunk_list, gold, 2).score == 0.0
    assert hit_at_k(chunk_list, gold, 3).score == 1.0
    assert hit_at_k(quote_list, gold, 1).score == 1.0
    assert mrr(chunk_list, gold).score == pytest.approx(1 / 3)


# --- the command, end to end ----------------------------------------------------------

POLICY = """# Privacy Policy

Acme, Inc. runs acme.example. Write to privacy@acme.example with any question.

## What we collect

We collect your name and email address when you create an account. We also log the
pages you visit on our website.

## Sharing

We never sell your personal information to anyone. We share data with our payment
processor only to bill you.

## Deleting your data

You can delete your account at any time from the settings page, and we erase your
data within 30 days.
"""

QUESTIONS = [
    {"question": "do you sell my data?", "sections": ["sharing"], "answerable": True},
    {"question": "how can I delete my account?", "sections": ["deleting-your-data"],
     "answerable": True},
    {"question": "what information do you collect about me?", "sections": ["what-we-collect"],
     "answerable": True},
    {"question": "how much does the premium plan cost?", "sections": [], "answerable": False},
    {"question": "is there an office in Tokyo I can visit?", "sections": [],
     "answerable": False},
]


@pytest.fixture()
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    policy = tmp_path / "policy.md"
    policy.write_text(POLICY, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return policy, questions


def test_eval_json_compare_calibrate_writes_report_and_plots(tiny, tmp_path, capsys, embedder):
    policy, questions = tiny
    out = tmp_path / "report"
    code = main(["eval", str(questions), "--policy", str(policy), "--compare", "--calibrate",
                 "--json", "--out", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("hit@1", "hit@3", "hit@5", "mrr", "answerable_resolved",
                "unanswerable_unresolved", "escalation_precision", "escalation_recall",
                "escalation_f1", "balanced_accuracy", "threshold"):
        assert key in summary
    assert 0.0 <= summary["hit@1"] <= summary["hit@3"] <= summary["hit@5"] <= 1.0
    assert summary["questions"] == 5 and summary["unanswerable"] == 2
    assert set(summary["systems"]) == {"ours", "bm25", "tutorial"}
    for system in summary["systems"].values():
        assert system["threshold"] is not None and "hit@1" in system
    assert set(summary["calibration"]) == {"ours", "bm25", "tutorial"}
    for name in ("report.json", "report.md", "scores.png", "hit-at-k.png", "calibration.png"):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "report.json").read_text())
    assert len(report["per_question"]["ours"]) == 5
    assert (out / "scores.png").read_bytes().startswith(b"\x89PNG")
    assert "| hit@1 |" in (out / "report.md").read_text()
    for system in report["systems"].values():  # each rate with its 95% interval
        assert system["intervals"]["hit@1"]["value"] == pytest.approx(system["hit@1"])
        assert system["intervals"]["hit@1"]["n"] == 3
        assert system["intervals"]["unanswerable_unresolved"]["n"] == 2
    assert set(report["differences"]) == {"bm25", "tutorial"}
    assert report["differences"]["bm25"]["hit@1"]["difference"] == pytest.approx(
        report["systems"]["ours"]["hit@1"] - report["systems"]["bm25"]["hit@1"])
    assert "paired bootstrap" in (out / "report.md").read_text()


def test_eval_calibrate_on_sets_each_threshold_from_another_set(tiny, tmp_path, capsys,
                                                                embedder):
    policy, questions = tiny
    code = main(["eval", str(questions), "--policy", str(policy), "--calibrate-on",
                 str(questions), "--json", "--out", str(tmp_path / "r")])
    assert code == 0
    ours = json.loads(capsys.readouterr().out)["systems"]["ours"]
    assert ours["threshold_source"] == f"calibrated on {questions}"
    assert ours["threshold"] == ours["best_threshold"]  # calibrated on this very set


def test_progress_counts_every_question_of_every_system(tiny, tmp_path, embedder):
    from qa.evaluation.run import EvalOptions, evaluate
    from qa.settings import Settings

    class Bar:
        def __init__(self, total: int) -> None:
            self.total, self.done, self.closed = total, 0, False
            bars.append(self)

        def update(self, n: int) -> None:
            self.done += n

        def close(self) -> None:
            self.closed = True

    bars: list[Bar] = []
    policy, questions = tiny
    evaluate(EvalOptions(questions, policy=policy, out=tmp_path / "r"), Settings(),
             embedder, progress_factory=Bar)
    assert [(b.total, b.done, b.closed) for b in bars] == [(5, 5, True)]


def test_eval_policyqa_format(tmp_path, capsys, embedder):
    contexts = [P0, P1, P2]
    data = {"data": [{"title": "example.com", "paragraphs": [
        {"index": i, "context": c, "qas": [{"question": q, "id": str(i), "answers": a}]}
        for i, (c, q, a) in enumerate([
            (contexts[2], "Can I delete my account?", [{"text": "delete", "answer_start": 8}]),
            (contexts[0], "What data is collected?", [{"text": "name", "answer_start": 17}]),
            (contexts[1], "Do they sell my information?", [{"text": "never", "answer_start": 3}]),
        ])]}]}
    data["data"][0]["paragraphs"].reverse()  # rebuilt in `index` order
    path = tmp_path / "pq.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code = main(["eval", "--format", "policyqa", str(path), "--json", "--compare",
                 "--out", str(tmp_path / "pq")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["questions"] == 3 and summary["unanswerable"] == 0
    assert summary["balanced_accuracy"] is None
    assert 0.0 <= summary["hit@1"] <= summary["hit@3"] <= 1.0
    tutorial = summary["systems"]["tutorial"]
    assert tutorial["places_per_passage"] == 3.0  # one chunk over all three paragraphs
    assert tutorial["hit@3"] == 1.0 and tutorial["hit@1"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("args, message", [
    (["missing.jsonl"], "not found"),
    (["BAD"], "line 2 is not valid JSON"),
    (["GOOD", "--format", "xml"], "unknown format 'xml'"),
    (["--format", "policyqa", "BAD"], "not valid JSON"),
    (["--format", "policyqa", "GOOD"], "is not PolicyQA/SQuAD JSON"),
    (["NOSECTIONS"], "needs at least one section"),
    (["GOOD", "--limit", "0"], "--limit must be at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    Path("BAD").write_text('{"question": "ok?", "sections": ["a"], "answerable": true}\n{oops\n')
    Path("GOOD").write_text(json.dumps(QUESTIONS[0]) + "\n")
    Path("NOSECTIONS").write_text('{"question": "ok?", "sections": [], "answerable": true}\n')
    code = main(["eval", *args, "--policy", "nowhere.md"] if "policyqa" not in args
                else ["eval", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0], err


def test_python_dash_m_qa_evaluate_reports_errors_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "qa.evaluation", str(tmp_path / "none.jsonl")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"policy-qa: error: evaluation file not found: {tmp_path / 'none.jsonl'}"]
    usage = subprocess.run([sys.executable, "-m", "qa.evaluation", "--help"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: python -m qa.evaluation ")


def test_sweep_of_identical_scores_is_finite():
    sweep = threshold_sweep([0.5, 0.5], [True, False])
    assert all(math.isfinite(p.threshold) for p in sweep.curve)
    assert sweep.best.balanced_accuracy == 0.5


def test_a_label_naming_no_section_is_an_error_with_the_nearest(tiny, tmp_path, capsys,
                                                                  embedder):
    """A typo in an anchor would count every answer to it wrong, silently (hit@1 0.000):
    it is one line, exit 2, with the index's nearest anchors."""
    policy, questions = tiny
    rows = [json.loads(line) for line in questions.read_text("utf-8").splitlines()]
    rows[0]["sections"] = ["deleting-your-dta"]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code = main(["eval", str(questions), "--policy", str(policy), "--out",
                 str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "1 label(s) name no section of the index: 'deleting-your-dta' (nearest: " \
           "deleting-your-data" in err


def test_a_labelled_file_saved_with_a_byte_order_mark_reads(tmp_path):
    from qa.evaluation.data import load_questions

    path = tmp_path / "bom.jsonl"
    path.write_text("\ufeff" + json.dumps(QUESTIONS[0]) + "\n", encoding="utf-8")
    assert [q.text for q in load_questions(path)] == [QUESTIONS[0]["question"]]
