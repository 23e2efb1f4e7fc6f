"""The retriever's two fusions (qa/answering/retrieve.py): `Weights` ranks the chunks shown,
CONFIDENCE ranks the evidence the resolved/unresolved decision reads, so changing the
ranking weights changes which passages come first and nothing the decision was fitted on.
Real policy (Mozilla accounts, long), packaged model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import ConfigError
from index.policy import load_policy
from index.store import build_index
from qa.answering.answerability import Lexicon, features
from qa.answering.retrieve import CONFIDENCE, Retriever, Weights
from qa.service import Service
from qa.settings import Settings, load_settings

ACCOUNTS = (Path(__file__).parent / "data" / "policies" / "mozilla"
            / "mozilla_accounts_privacy_notice.md")
QUESTIONS = ["Do you sell my data?", "How do I delete my account?", "what is a recovery key",
             "Does Mozilla keep my IP address?", "How much does Mozilla VPN cost?",
             "Who do you share my email address with?", "What is the capital of Portugal?"]


@pytest.fixture(scope="module")
def accounts(embedder):
    return build_index(load_policy(ACCOUNTS), embedder)


def test_the_ranking_weights_leave_the_decision_evidence_alone(accounts, embedder):
    shipped = Retriever(accounts, embedder)
    before = Retriever(accounts, embedder, CONFIDENCE)  # as everything ranked until now
    assert shipped.weights != CONFIDENCE
    lexicon = Lexicon.of(before)
    new, old = shipped.retrieve_many(QUESTIONS), before.retrieve_many(QUESTIONS)
    for a, b in zip(new, old, strict=True):
        assert [h.chunk.id for h in a.basis] == [h.chunk.id for h in b.hits[:3]]
        ranked = [h.chunk.id for h in a.hits]  # after late interaction's re-ranking too
        assert len(set(ranked)) == len(ranked)  # one hit per chunk: Answerer relies on it
        assert a.confidence == pytest.approx(b.hits[0].score)
        ev = lexicon.evidence(a.question)
        assert np.allclose(features(a, ev), features(b, ev))
    # ... while the ranking itself did change for some question
    assert any(a.hits[0].chunk.id != b.hits[0].chunk.id for a, b in zip(new, old, strict=True))


def test_the_retriever_with_the_confidence_weights_has_one_ranking(accounts, embedder):
    found = Retriever(accounts, embedder, CONFIDENCE).retrieve("Do you sell my data?")
    assert found.evidence == () and found.basis == found.hits


def test_the_fusion_setting_reaches_the_retriever(accounts, embedder):
    service = Service(Settings(cache_size=0, fusion="0.2, 0.2, 0.4, 0.2, 0.04, 0"),
                      index=accounts, embedder=embedder)
    assert service.retriever.weights == CONFIDENCE
    five = Service(Settings(cache_size=0, fusion="0.2, 0.2, 0.4, 0.2, 0.04"),
                   index=accounts, embedder=embedder).retriever.weights
    assert five.lexical == 0.04 and five.tokens == Weights().tokens  # the sixth: shipped
    assert Service(Settings(cache_size=0), index=accounts,
                   embedder=embedder).retriever.weights == Weights()
    assert load_settings(env={"POLICY_QA_FUSION": "1,0,0,0,0.5"}).fusion == "1,0,0,0,0.5"


@pytest.mark.parametrize("bad", ["0.2,0.2", "a,b,c,d,e", "0.2,0.2,0.4,0.2,-1",
                                 "1,2,3,4,5,6,7", "0.2,0.2,0.4,0.2,inf", "nan,0,0,0,0",
                                 "0.3,0.5,0.2,0,0.12,-2"])
def test_a_bad_fusion_setting_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="fusion must be empty or five or six non-negative"):
        Settings(fusion=bad)


def test_the_console_compares_the_decisions_own_score_with_the_threshold(accounts, embedder):
    """decision = "threshold": the console's "above threshold" column and its rule text use
    the fusion the threshold was calibrated with, not the ranking's scores."""
    from ui.web.console.tabs import diagnose

    question = "Who do you share my email address with?"
    service = Service(Settings(cache_size=0, decision="threshold"), index=accounts,
                      embedder=embedder)
    verdict, threshold, table, _, _ = diagnose(service, question)
    hits = service.retriever.retrieve(question, k=10).hits
    assert f"{CONFIDENCE.lexical:g} × lexical" in verdict
    assert list(table["score"]) == [round(h.score, 4) for h in hits]
    assert list(table["late"]) == [round(h.late, 4) for h in hits]  # all ten are candidates
    assert list(table["above threshold"]) == ["yes" if h.sure >= threshold else "no"
                                              for h in hits]
    assert any(h.sure != h.score for h in hits)
    assert max(h.sure for h in hits) == pytest.approx(service.ask(question).confidence)
