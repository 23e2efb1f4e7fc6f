"""qa/answering/bm25.py: rank_bm25's Okapi scores, bit for bit, from postings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index.policy import load_policy
from index.split import split_policy
from index.units import chunk_text
from qa.answering.bm25 import Bm25
from qa.normalize import tokenize
from qa.settings import BUNDLED_POLICY

DATA = Path(__file__).parent / "data"
POLICIES = [BUNDLED_POLICY, DATA / "policies/mozilla/mozilla_accounts_privacy_notice.md",
            DATA / "policies/opengov/privacy-policy.md"]


def _corpus(path: Path) -> list[list[str]]:
    return [tokenize(chunk_text(c)) or ["_"] for c in split_policy(load_policy(path))]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_scores_equal_rank_bm25_on_real_policies(path: Path) -> None:
    corpus = _corpus(path)
    ours, theirs = Bm25(corpus), BM25Okapi(corpus)
    questions = [json.loads(line)["question"] for line in
                 (DATA / "korero-questions.jsonl").open(encoding="utf-8")][:80]
    for question in [*questions, "cookies cookies cookies", "zzzz unknownword", ""]:
        tokens = tokenize(question)
        expected = np.asarray(theirs.get_scores(tokens), dtype=np.float64)
        got = ours.scores(tokens)
        assert got.dtype == np.float64
        assert np.array_equal(got, expected), question  # the same bits, not merely close
        assert np.array_equal(ours.scores(tokens), expected)  # and again, from the cache


def test_edge_corpora_words_in_most_chunks_and_a_single_chunk() -> None:
    # a word in most chunks has a negative idf, which rank_bm25 floors; one chunk alone
    # makes every idf negative (the floor is negative too)
    many = [["data", "share"], ["data", "keep"], ["data", "delete"], ["cookie"]]
    for corpus in (many, [["data", "data", "share"]]):
        ours, theirs = Bm25(corpus), BM25Okapi(corpus)
        for tokens in (["data"], ["data", "share", "data"], ["cookie", "nothing"], []):
            assert np.array_equal(ours.scores(tokens), theirs.get_scores(tokens)), tokens
    assert Bm25(many).scores(["cookie"])[:3].tolist() == [0.0, 0.0, 0.0]
    assert Bm25(many).scores(["cookie"])[3] > 0
