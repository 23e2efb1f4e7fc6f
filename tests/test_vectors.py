"""index/vectors.py: the index type follows the size; the approximate index finds
nearly every exact top-10 neighbour; every unit gets a score."""

from __future__ import annotations

import numpy as np
import pytest

from index.vectors import kind, recall_at_k, unit_scores, vector_index


def _unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))  # clustered, like sentences of a few topics
    rows = centres[rng.integers(0, 20, n)] + 0.6 * rng.normal(size=(n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_small_indexes_are_exact_large_ones_hnsw():
    rows = _unit_rows(500)
    assert kind(vector_index(rows, exact_limit=500)) == "exact"
    assert kind(vector_index(rows, exact_limit=499)) == "hnsw"


def test_exact_scores_are_every_cosine():
    rows = _unit_rows(300)
    queries = _unit_rows(5, seed=1)
    scores = unit_scores(vector_index(rows), queries)
    assert scores.shape == (5, 300)
    np.testing.assert_allclose(scores, queries @ rows.T, atol=1e-5)


def test_hnsw_recall_at_10_against_exact_and_the_rest_score_minus_one():
    rows = _unit_rows(4000)
    queries = _unit_rows(100, seed=2)
    approx = vector_index(rows, exact_limit=1000)
    assert kind(approx) == "hnsw"
    recall = recall_at_k(approx, rows, queries, k=10)
    assert recall >= 0.95, recall
    scores = unit_scores(approx, queries[:3])
    assert scores.shape == (3, 4000)
    best = np.argmax(queries[:3] @ rows.T, axis=1)
    assert (np.argmax(scores, axis=1) == best).all()
    assert ((scores == -1.0).sum(axis=1) >= 4000 - 256).all()


@pytest.mark.parametrize("k", [1, 10])
def test_recall_of_an_exact_index_is_one(k):
    rows = _unit_rows(200)
    assert recall_at_k(vector_index(rows), rows, _unit_rows(10, seed=3), k=k) == 1.0
