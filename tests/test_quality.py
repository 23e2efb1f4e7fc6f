"""Retrieval and resolution quality on the labelled Korero test set, with the real
packaged model. The set (tests/data/korero-questions.jsonl) was written as visitors
word questions; the weights and threshold were chosen on a separate dev set
(tests/data/korero-dev.jsonl), never on this one.

The floors below are what the packaged model measures today without tuning (see
README, `make eval`), so a regression fails here. The Core issue's targets (top-1 >=
0.90, top-3 >= 0.98, 0.90 / 0.90 resolution) are met by the model adapted to the
policy, which `make run` serves; tests/test_quality_adapted.py asserts them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

QUESTIONS = [json.loads(line) for line in (DATA / "korero-questions.jsonl").open()]
ANSWERABLE = [q for q in QUESTIONS if q["answerable"]]
UNANSWERABLE = [q for q in QUESTIONS if not q["answerable"]]


def test_the_set_is_large_and_realistic_enough():
    assert len(ANSWERABLE) >= 80
    assert len(UNANSWERABLE) >= 20
    assert len({q["question"].lower() for q in QUESTIONS}) == len(QUESTIONS)


@pytest.fixture(scope="module")
def figures(korero_index, embedder):
    from qa.service import Service
    from qa.settings import Settings

    service = Service(Settings(cache_size=0), index=korero_index, embedder=embedder)
    answers = service.ask_many([q["question"] for q in QUESTIONS])
    by_q = dict(zip([q["question"] for q in QUESTIONS], answers, strict=True))
    first = [by_q[q["question"]].passages[0].anchor in q["sections"] for q in ANSWERABLE]
    top3 = [any(p.anchor in q["sections"] for p in by_q[q["question"]].passages[:3])
            for q in ANSWERABLE]
    return {
        "top1": sum(first) / len(first),
        "top3": sum(top3) / len(top3),
        "answerable_resolved": sum(by_q[q["question"]].resolved for q in ANSWERABLE)
        / len(ANSWERABLE),
        "unanswerable_unresolved": sum(not by_q[q["question"]].resolved for q in UNANSWERABLE)
        / len(UNANSWERABLE),
    }


def test_right_section_first(figures):
    assert figures["top1"] >= 0.80, figures  # today 0.832


def test_right_section_in_top_three(figures):
    assert figures["top3"] >= 0.95, figures  # today 0.970 (0.921 before glosses)


def test_resolution_separates_answerable_from_unanswerable(figures):
    assert figures["answerable_resolved"] >= 0.80, figures
    assert figures["unanswerable_unresolved"] >= 0.90, figures  # answerability: 0.933
    balanced = (figures["answerable_resolved"] + figures["unanswerable_unresolved"]) / 2
    assert balanced >= 0.80, figures
