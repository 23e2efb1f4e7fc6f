"""Floors for three real policies nobody here wrote (issue 14), with the packaged model
and default settings, through `policy-qa eval`'s own code: retrieval, and the
answerability decision put on each index's scale with no labels of the policy.

The decision's weights and the ranking's fusion and late-interaction weights were fitted
and chosen with the accounts and OpenGov sets among others, so those two are regression
floors, not held-out figures (the held-out ones are scripts/answerability_lopo.py's and
scripts/retrieval_lopo.py's, in the README). The subscription services set was written
after everything was fitted and chosen: nothing fitted saw it (the choice between two
runs of retrieval_lopo.py looked at it; README), nor did anything see the Mozilla privacy
policy's set (written 2026-12-08, measured once, nothing chosen with it). Each floor is a little
under what `bash scripts/quality_policies.sh` measures today (in the comments)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
POLICIES = {  # name: (policy, labelled set, floors: hit@1, hit@3, AR, UU)
    "mozilla-accounts": (DATA / "policies/mozilla/mozilla_accounts_privacy_notice.md",
                         DATA / "mozilla-accounts-questions.jsonl",
                         (0.86, 0.98, 0.85, 0.92)),  # today 0.886 1.000 0.900 0.960
    "opengov": (DATA / "policies/opengov/privacy-policy.md", DATA / "opengov-questions.jsonl",
                (0.83, 0.98, 0.92, 0.92)),  # today 0.857 1.000 0.952 0.958
    "subscription": (DATA / "policies/mozilla/subscription_services_privacy_notice.md",
                     DATA / "subscription-questions.jsonl",
                     (0.89, 0.98, 0.83, 0.70)),  # today 0.914 0.983 0.862 0.741
    "mozilla-privacy": (DATA / "policies/mozilla/mozilla_privacy_policy.md",
                        DATA / "mozilla-privacy-questions.jsonl",
                        (0.78, 0.94, 0.90, 0.62)),  # today 0.804 0.961 0.922 0.667
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_policy_nobody_labelled_keeps_its_figures(name, embedder, tmp_path):
    from qa.evaluation.run import EvalOptions, evaluate
    from qa.settings import Settings

    policy, questions, (hit1, hit3, resolved, unresolved) = POLICIES[name]
    report = evaluate(EvalOptions(questions, policy=policy, out=tmp_path / "r"), Settings(),
                      embedder)
    assert report["decision"]["method"] == "answerability"
    assert report["threshold_source"] == "answerability model (shipped)"
    figures = {k: report[k] for k in ("hit@1", "hit@3", "answerable_resolved",
                                      "unanswerable_unresolved")}
    assert figures["hit@1"] >= hit1, figures
    assert figures["hit@3"] >= hit3, figures
    assert figures["answerable_resolved"] >= resolved, figures
    assert figures["unanswerable_unresolved"] >= unresolved, figures


@pytest.mark.training
def test_adapting_without_labels_keeps_retrieval_on_a_policy(embedder, tmp_path, capsys):
    """`policy-qa adapt` (the policy's own titles and sentences, no labels) on Mozilla
    accounts, then its labelled set, with the decision still the shipped model's. Since
    the notice's lawful-bases table reads as rows (2026-12-06), its gate refuses the
    model (its own held-out check: hit@3 0.955 -> 0.909 on 22 sentences), so it is
    written with --force to be measured: hit@1 0.886 -> 0.871, hit@3 1.000 -> 0.986
    (it had lifted them from 0.643 / 0.886 when the ranking was Korero-chosen)."""
    from index.embed import Embedder
    from qa.evaluation.run import EvalOptions, evaluate
    from qa.settings import Settings
    from ui.cli.main import main

    policy, questions, _ = POLICIES["mozilla-accounts"]
    out = tmp_path / "adapted"
    assert main(["adapt", str(policy), "--out", str(out), "--force"]) == 0
    assert "written because of --force" in capsys.readouterr().out  # the gate's verdict
    report = evaluate(EvalOptions(questions, policy=policy, out=tmp_path / "r"),
                      Settings(model=str(out)), Embedder(str(out)))
    assert report["decision"]["method"] == "answerability"
    assert report["hit@1"] >= 0.76 and report["hit@3"] >= 0.97, report["hit@1"]
    assert report["answerable_resolved"] >= 0.85
    assert report["unanswerable_unresolved"] >= 0.92
