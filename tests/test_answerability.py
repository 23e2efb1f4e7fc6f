"""The answerability decision (issue 14): features, the model, its stored form, and one
real check on the OpenGov policy with the packaged model (calibrated on the shipped
bank, no labels of OpenGov). Leave-one-policy-out figures: scripts/answerability_lopo.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.split import Chunk
from qa.answering.answerability import (
    FEATURES,
    Answerability,
    Evidence,
    IndexStats,
    Lexicon,
    calibrate,
    content_words,
    features,
    shipped_bank,
    shipped_model,
)
from qa.answering.retrieve import Hit, Retrieval


def _chunk(i: int, text: str, section: str = "Cookies") -> Chunk:
    return Chunk(f"c{i}", section, None, section.lower(), text, 0, len(text))


def _retrieval(question: str = "do you use cookies") -> Retrieval:
    text = "We use cookies to remember you. They expire after a year."
    hits = (Hit(_chunk(0, text), 0.6, 0.58, 1.0, ((0, 31, 0.7), (32, len(text), 0.3))),
            Hit(_chunk(1, "We never sell data.", "Selling"), 0.3, 0.3, 0.0, ((0, 19, 0.2),)))
    return Retrieval(question, hits)


def _evidence(query: str = "do you use cookies", cover=(1.0, 0.5)) -> Evidence:
    return Evidence(query, np.full(4, 0.5, dtype=np.float32), tuple(cover))


def _model(stats: IndexStats | None = None) -> Answerability:
    return Answerability((1.0, 1.0, 1.0, 1.0), -1.0, 0.5, (1.0, 0.0, 0.0, 0.0), 0.1, 0.5,
                         stats, "test-model")


def test_features_are_the_named_signals():
    x = features(_retrieval(), _evidence())
    assert x.shape == (len(FEATURES),)
    top, quote, cover3, word_cover = x
    assert top == pytest.approx(0.6)
    assert quote == pytest.approx(0.7)  # the best sentence of the first hit
    assert cover3 == pytest.approx(1.0)  # "use" and "cooki" are both in the chunks
    assert word_cover == pytest.approx(0.75)


def test_features_of_words_the_policy_lacks():
    x = features(_retrieval("iso 27001 certified"), _evidence("iso 27001 certified", (0.2,)))
    assert x[2] == 0.0 and x[3] == pytest.approx(0.2)


def test_features_of_nothing_found():
    assert features(Retrieval("q", ()), _evidence()).tolist() == [0.0] * len(FEATURES)


def test_content_words_drop_stop_words():
    assert content_words("What do you do with my Cookies?") == ["cookies"]


def test_decide_is_the_logistic_model():
    stats = IndexStats((0.1, 0.2, 0.3, 0.4))
    model = _model(stats)
    x = features(_retrieval(), _evidence())
    prior = 1.0 * 0.5 + 0.1
    expected = 1 / (1 + np.exp(-(np.sum(x - stats.mean) - 1.0 + 0.5 * prior)))
    resolved, p = model.decide(_retrieval(), _evidence())
    assert p == pytest.approx(expected) and resolved == (p >= 0.5)


def test_a_higher_index_baseline_makes_the_same_question_less_answerable():
    low, high = IndexStats((0.1, 0.1, 0.1, 0.1)), IndexStats((0.6, 0.6, 0.6, 0.6))
    assert (_model(low).decide(_retrieval(), _evidence())[1]
            > _model(high).decide(_retrieval(), _evidence())[1])


def test_no_hits_is_unresolved_and_uncalibrated_refuses():
    assert _model(IndexStats((0.0,) * 4)).decide(Retrieval("q", ()), _evidence()) == (False, 0.0)
    with pytest.raises(ValueError, match="calibrate"):
        _model().decide(_retrieval(), _evidence())


def test_round_trip_through_json():
    model = _model(IndexStats((0.1, 0.2, 0.3, 0.4)))
    again = Answerability.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again == model
    assert IndexStats.from_dict(model.stats.to_dict()) == model.stats
    assert Answerability.from_dict(_model().to_dict()).stats is None


def test_stats_for_other_features_are_refused():
    with pytest.raises(ValueError, match="features"):
        IndexStats.from_dict({"names": ["top"], "mean": [0.1]})


def test_shipped_weights_load_for_the_packaged_model_only():
    model = shipped_model()
    assert model is not None and len(model.coef) == len(FEATURES)
    assert len(model.prior_weights) == 384 and model.stats is None
    assert shipped_model("some/other-model") is None
    bank = shipped_bank()
    assert len(bank) == 100 and all(isinstance(q, str) and q for q in bank)


def test_lexicon_covers_words_by_meaning():
    vectors = {"children": [1.0, 0.0, 0.0], "kids": [0.8, 0.6, 0.0],
               "cookies": [0.0, 1.0, 0.0], "price": [0.0, 0.0, 1.0]}

    def encode(texts: list[str]) -> np.ndarray:
        return np.array([vectors.get(t, [0.6, 0.0, 0.8]) for t in texts], dtype=np.float32)

    lexicon = Lexicon(["Children and cookies"], encode, correct=lambda q: q.replace("kidz", "kids"))
    ev = lexicon.evidence("kidz price")
    assert ev.query == "kids price"
    assert ev.word_cover == pytest.approx((0.8, 0.0))  # kids ~ children; price ~ nothing
    assert lexicon.evidence_many([]) == []


@pytest.fixture(scope="module")
def opengov(embedder):
    from pathlib import Path

    from index.policy import load_policy
    from index.store import build_index
    from qa.answering.retrieve import Retriever

    policy = Path(__file__).parent / "data" / "policies" / "opengov" / "privacy-policy.md"
    retriever = Retriever(build_index(load_policy(policy), embedder), embedder)
    lexicon = Lexicon.of(retriever)
    model = shipped_model(embedder.id)
    assert model is not None
    stats = calibrate(retriever, shipped_bank(), lexicon)
    return retriever, lexicon, model.with_stats(IndexStats.from_dict(stats.to_dict()))


@pytest.mark.parametrize(("question", "answerable"), [
    ("what is the price of your premium plan?", False),
    ("Write me a poem about the sea", False),
    ("do you sell my info to anyone?", True),
    ("how do you use cookies?", True),
])
def test_real_policy(opengov, question, answerable):
    retriever, lexicon, model = opengov
    resolved, p = model.decide(retriever.retrieve(question), lexicon.evidence(question))
    assert resolved is answerable, (question, p)
