"""The Core issue's quality targets, met by the model adapted to the bundled policy.

`make adapt` tunes the packaged all-MiniLM-L6-v2 on the Korero policy's own labelled
questions (korero-train + korero-dev: answerable ones pulled to their section,
unanswerable ones pushed away from their nearest passages), keeps it only if it beats
the packaged model on a third set (korero-calib), and calibrates the threshold for it on
that set. None of the three is the test set: korero-train and korero-calib were written
by two people who never saw it. This test runs that recipe (the flags are read from the
Makefile, so it is the shipped one) and then answers the test set through the whole
pipeline: index, hybrid retrieval, quotes, threshold.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from index.embed import Embedder
from index.store import build_index
from qa.evaluation.metrics import threshold_sweep
from qa.service import Service
from qa.settings import BUNDLED_POLICY, Settings
from ui.cli.main import main

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).open(encoding="utf-8")]


def _make_variable(name: str) -> list[str]:
    match = re.search(rf"^{name}\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, f"Makefile has no {name}"
    return match.group(1).split()


@pytest.fixture(scope="module")
def adapted(tmp_path_factory, korero_policy) -> tuple[Path, Service]:
    out = tmp_path_factory.mktemp("adapted") / "model"
    train = [f"{ROOT / f}::{BUNDLED_POLICY}" for f in _make_variable("ADAPT_DATA")]
    check = [f"{ROOT / f}::{BUNDLED_POLICY}" for f in _make_variable("ADAPT_CHECK")]
    code = main(["tune", "--out", str(out), *_make_variable("ADAPT_FLAGS"), *train,
                 "--eval", *check])
    assert code == 0  # written: it beat the packaged model on the check set
    embedder = Embedder(str(out))
    index = build_index(korero_policy, embedder)
    calib = _rows(Path(_make_variable("ADAPT_CHECK")[0]).name)
    fusion = _make_variable("ADAPT_FUSION")[0]  # as `make adapt` writes it in policy-qa.toml
    probe = Service(Settings(cache_size=0, fusion=fusion), index=index, embedder=embedder)
    answers = probe.ask_many([q["question"] for q in calib])
    sweep = threshold_sweep([a.confidence for a in answers], [q["answerable"] for q in calib])
    service = Service(Settings(cache_size=0, threshold=sweep.best.threshold, fusion=fusion),
                      index=index, embedder=embedder)
    return out, service


@pytest.fixture(scope="module")
def figures(adapted) -> dict[str, float]:
    _, service = adapted
    questions = _rows("korero-questions.jsonl")
    answers = service.ask_many([q["question"] for q in questions])
    answerable = [(q, a) for q, a in zip(questions, answers, strict=True) if q["answerable"]]
    unanswerable = [a for q, a in zip(questions, answers, strict=True) if not q["answerable"]]
    return {
        "top1": sum(a.passages[0].anchor in q["sections"] for q, a in answerable)
        / len(answerable),
        "top3": sum(any(p.anchor in q["sections"] for p in a.passages[:3])
                    for q, a in answerable) / len(answerable),
        "answerable_resolved": sum(a.resolved for _, a in answerable) / len(answerable),
        "unanswerable_unresolved": sum(not a.resolved for a in unanswerable)
        / len(unanswerable),
    }


def _words(question: str) -> frozenset[str]:
    """Its words; a question with none ("👍", "???") stands for itself."""
    return (frozenset(re.findall(r"[a-z0-9]+", question.lower()))
            or frozenset([question.strip().lower()]))


def _near(a: frozenset[str], others: list[frozenset[str]]) -> bool:
    """Same question up to a word or two: word-set Jaccard >= 0.8."""
    return any(len(a & b) >= 0.8 * len(a | b) for b in others)


def test_no_training_or_calibration_question_is_a_test_question():
    test = [_words(q["question"]) for q in _rows("korero-questions.jsonl")]
    calib = [_words(q["question"]) for q in _rows("korero-calib.jsonl")]
    for name in [Path(f).name for f in _make_variable("ADAPT_DATA")] + ["korero-calib.jsonl"]:
        near = [q["question"] for q in _rows(name) if _near(_words(q["question"]), test)]
        assert not near, (name, near)
    for name in [Path(f).name for f in _make_variable("ADAPT_DATA")]:
        near = [q["question"] for q in _rows(name) if _near(_words(q["question"]), calib)]
        assert not near, (name, near)


@pytest.mark.training
def test_the_adapted_model_learnt_from_unanswerable_questions_too(adapted):
    manifest = json.loads((adapted[0] / "tune.json").read_text("utf-8"))
    assert manifest["passed_check"] and not manifest["forced"]
    unanswerable = sum(not q["answerable"] for f in _make_variable("ADAPT_DATA")
                       for q in _rows(Path(f).name))
    assert unanswerable >= 150
    assert manifest["sizes"]["unanswerable_pairs"] == 3 * unanswerable  # three passages each
    assert manifest["after"]["balanced_accuracy"] > manifest["before"]["balanced_accuracy"]


@pytest.mark.training
def test_right_section_first_for_90_percent(figures):
    assert figures["top1"] >= 0.90, figures


@pytest.mark.training
def test_right_section_in_top_three_for_98_percent(figures):
    assert figures["top3"] >= 0.98, figures


@pytest.mark.training
def test_90_percent_of_answerable_questions_resolved(figures):
    assert figures["answerable_resolved"] >= 0.90, figures


@pytest.mark.training
def test_90_percent_of_unanswerable_questions_escalated(figures):
    assert figures["unanswerable_unresolved"] >= 0.90, figures
