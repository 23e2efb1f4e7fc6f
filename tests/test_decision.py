"""The answerability model decides resolved/unresolved in the product (issue 14): the
Service, `build` (which records the index's scale in the manifest) and `eval` (which
reports the rule). Real policy, packaged model, questions that are in no labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import cli  # noqa: F401 - the fixture

from index.policy import load_policy
from index.store import build_index, load_index
from qa.answering import answerability, decider
from qa.answering.amounts import AMOUNT_RULE
from qa.service import Service
from qa.settings import Settings

ACCOUNTS = (Path(__file__).parent / "data" / "policies" / "mozilla"
            / "mozilla_accounts_privacy_notice.md")
# none of these is in a labelled set (tests/data/*-questions.jsonl, the bank)
OFF_POLICY = ["How much does Mozilla VPN cost?", "Can I get a refund for Firefox?",
              "What is the capital of Portugal?"]
ON_POLICY = ["Do you sell my data?", "How do I delete my account?"]


@pytest.fixture(scope="module")
def accounts(embedder):
    return build_index(load_policy(ACCOUNTS), embedder)


def test_the_service_decides_by_the_answerability_model(accounts, embedder):
    service = Service(Settings(cache_size=0), index=accounts, embedder=embedder)
    rule = service.decision
    assert rule["method"] == "answerability" and rule["threshold"] == 0.5
    assert rule["bank_questions"] == len(answerability.shipped_bank()) == 100
    assert "no labels of this policy" in rule["fitted"]
    for question in ON_POLICY:
        answer = service.ask(question)
        assert answer.resolved and answer.confidence >= 0.5, (question, answer.confidence)
    for question in OFF_POLICY:
        answer = service.ask(question)
        assert not answer.resolved and answer.kind == "unresolved", (question,
                                                                     answer.confidence)
        assert answer.confidence < 0.5 and answer.passages  # closest passages still shown


def test_the_fixed_threshold_is_still_a_setting(accounts, embedder):
    """decision = "threshold": the fused score against 0.41, as before; on this policy it
    resolves a refund question with an unrelated quote (the issue's complaint). It
    resolved the price question too, until the amount rule (qa/answering/amounts.py),
    which holds whatever the decision: the score is still above 0.41."""
    service = Service(Settings(cache_size=0, decision="threshold"), index=accounts,
                      embedder=embedder)
    assert service.decision == {"method": "threshold", "threshold": 0.41,
                                "fitted": "the fused score against POLICY_QA_THRESHOLD",
                                "rules": [AMOUNT_RULE]}
    assert service.decider is None
    assert service.ask("Can I get a refund for Firefox?").resolved
    price = service.ask("How much does Mozilla VPN cost?")
    assert price.confidence >= 0.41 and not price.resolved


def test_build_records_the_scale_and_the_service_uses_it(cli, tmp_path, embedder,  # noqa: F811
                                                         monkeypatch):
    out = tmp_path / "index"
    result = cli("build", str(ACCOUNTS), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "resolved/unresolved: the answerability model (p >= 0.5), scaled on 100 generic " \
           "unanswerable questions (no labels of this policy)" in result.stdout
    recorded = json.loads((out / "manifest.json").read_text("utf-8"))["answerability"]
    assert recorded["method"] == "answerability" and len(recorded["stats"]["mean"]) == 4

    def no_calibration(*args, **kwargs):
        raise AssertionError("the manifest's stats should be used, not re-fitted")

    monkeypatch.setattr(decider, "calibrate", no_calibration)
    service = Service(Settings(cache_size=0, index=out), embedder=embedder)
    assert service.decision["stats"] == recorded["stats"]
    assert not service.ask("How much does Mozilla VPN cost?").resolved


def test_eval_reports_the_rule(tmp_path, embedder):
    from qa.evaluation.run import EvalOptions, evaluate

    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in [
        {"question": q, "sections": [], "answerable": False} for q in OFF_POLICY]))
    report = evaluate(EvalOptions(questions, policy=ACCOUNTS, out=tmp_path / "r"),
                      Settings(), embedder)
    assert report["decision"]["method"] == "answerability"
    assert report["threshold"] == 0.5
    assert report["threshold_source"] == "answerability model (shipped)"
    assert report["unanswerable_unresolved"] == 1.0


def test_a_bad_decision_setting_is_one_line():
    from index.errors import ConfigError

    with pytest.raises(ConfigError, match="decision must be one of answerability, threshold"):
        Settings(decision="magic")


def test_an_index_built_before_keeps_working(korero_index_dir, embedder):
    """An index without the manifest record is put on its scale when first loaded."""
    index = load_index(korero_index_dir, model=embedder.id)
    index.manifest.pop("answerability", None)
    service = Service(Settings(cache_size=0), index=index, embedder=embedder)
    assert service.decision["method"] == "answerability"
    assert service.ask("Do you sell my data?").resolved


def test_the_lexicon_embeds_only_words_the_policy_lacks_once(embedder):
    """The decision's word cover on the request path: a policy word is its own best
    match (1.0, no encoder call); a word the policy lacks is embedded once, alone, and
    then remembered."""
    calls: list[list[str]] = []

    def encode(texts):
        calls.append(list(texts))
        return embedder.encode(texts)

    lexicon = answerability.Lexicon(["We collect cookies and delete accounts."], encode)
    calls.clear()
    known = lexicon.evidence_many(["delete cookies"], [embedder.encode(["x"])[0]])[0]
    assert calls == [] and known.word_cover == (1.0, 1.0)
    lexicon.evidence_many(["delete hipaa cookies"], [embedder.encode(["x"])[0]])
    assert calls == [["hipaa"]]
    again = lexicon.evidence_many(["hipaa"], [embedder.encode(["x"])[0]])[0]
    assert len(calls) == 1 and 0.0 < again.word_cover[0] < 0.9  # remembered, not 1.0
