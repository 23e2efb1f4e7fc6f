"""`policy-qa adapt POLICY`: tuning on the pairs a policy provides itself (no labels),
its held-out self-check, and the answerability weights it keeps. Whether it lifts the
labelled figures is measured by scripts/adapt_policies.sh (README, Quality)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.policy import load_policy
from index.split import split_policy
from qa.answering.answerability import self_adapted_from, shipped_bank, shipped_model
from qa.tuning.run import MANIFEST
from qa.tuning.selfpairs import chunk_questions, heading_question, self_split, visitor_voice
from ui.cli.main import main

DATA = Path(__file__).parent / "data"
ACME = DATA / "policies" / "acme.md"
KORERO = Path(__file__).parents[1] / "index" / "data" / "korero-privacy.md"


@pytest.mark.parametrize(("company", "visitor"), [
    ("We keep your name so you can sign in.", "You keep my name so I can sign in."),
    ("To provide you with your account", "To provide me with my account"),
    ("If you enable sync, we receive the data that you sync",
     "If I enable sync, you receive the data that I sync"),
    ("Our partners send us reports", "Your partners send you reports"),
])
def test_the_company_voice_becomes_the_visitors(company, visitor):
    assert visitor_voice(company) == visitor


@pytest.mark.parametrize(("heading", "question"), [
    ("How we share your personal data", "How do you share my personal data?"),
    ("What we collect", "What do you collect?"),
    ("Your rights", "My rights"),
    ("Do we sell your data?", "Do you sell my data?"),
])
def test_headings_become_questions(heading, question):
    assert heading_question(heading) == question


def test_the_check_takes_each_held_out_question_out_of_its_passage():
    source, split = self_split(KORERO, seed=7)
    chunks = split_policy(load_policy(KORERO))
    questions = chunk_questions(chunks)
    (train,), (check,) = split.train, split.held_out
    held = [q for q in check.queries if q.answerable]
    assert source.format == "self" and len(train.pairs) + len(held) == len(questions)
    assert len(questions) > 2 * len(chunks)  # titles and sentences, not titles alone
    assert not {p.question for p in train.pairs} & {q.question for q in held}
    for pair in train.pairs:  # training: a question -> its own whole chunk
        assert len(pair.labels) == 1 and train.candidates(pair)
    held_sentences = [chunks[q.chunk].text[q.span[0]:q.span[1]] for q in questions
                      if q.span is not None and q.text in {h.question for h in held}]
    assert held_sentences and not any(s in p for s in held_sentences for p in check.passages)
    assert {c.anchor for c in chunks} == set(check.labels)
    unanswerable = [q.question for q in check.queries if not q.answerable]
    assert unanswerable == shipped_bank()  # the gate checks the bank is not resolved


def test_the_split_is_fixed_by_its_seed():
    first, second = self_split(KORERO, seed=3)[1], self_split(KORERO, seed=3)[1]
    other = self_split(KORERO, seed=4)[1]
    assert first.held_out[0].queries == second.held_out[0].queries
    assert first.held_out[0].queries != other.held_out[0].queries


def test_adapt_writes_a_model_that_keeps_the_shipped_weights(tmp_path, capsys):
    out = tmp_path / "adapted"
    code = main(["adapt", str(ACME), "--out", str(out), "--force", "--epochs", "1"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    assert [s["format"] for s in manifest["sources"]] == ["self"]
    assert manifest["negatives_per_unanswerable"] == 0
    assert "held out" in printed and "generic unanswerable questions" in printed
    assert self_adapted_from(str(out)) == "all-MiniLM-L6-v2"
    assert shipped_model(str(out)) is not None  # decides with the answerability model


def test_a_run_that_changes_nothing_is_not_written(tmp_path, capsys):
    out = tmp_path / "adapted"
    code = main(["adapt", str(ACME), "--out", str(out), "--epochs", "1",
                 "--learning-rate", "1e-12"])
    printed = capsys.readouterr().out
    assert code == 1 and not out.exists()
    assert "not written: hit@3 did not improve" in printed


def test_models_tuned_otherwise_do_not_borrow_the_weights(tmp_path):
    labelled = tmp_path / "tuned"
    labelled.mkdir()
    (labelled / MANIFEST).write_text(json.dumps({
        "base_model": "all-MiniLM-L6-v2", "negatives_per_unanswerable": 3,
        "sources": [{"format": "labelled"}]}), "utf-8")
    pushed = tmp_path / "pushed"
    pushed.mkdir()
    (pushed / MANIFEST).write_text(json.dumps({
        "base_model": "all-MiniLM-L6-v2", "negatives_per_unanswerable": 3,
        "sources": [{"format": "self"}]}), "utf-8")
    for folder in (labelled, pushed, tmp_path / "missing"):
        assert self_adapted_from(str(folder)) is None
        assert shipped_model(str(folder)) is None


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["adapt", str(tmp_path / "nope.md"), "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "nope.md" in err
