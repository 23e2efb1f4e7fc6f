"""The Embedder: its small-batch path (straight through the model's modules) gives what
sentence-transformers' own `encode` gives, on one text, a ragged batch and an empty one
(`raw_embedder`: every call runs the model)."""

from __future__ import annotations

import numpy as np

from index.embed import _load

TEXTS = ["Do you sell my data?",
         "How long do you keep the e-mail messages I send to customer support, and can I "
         "ask you to delete them before that?",
         "HIPAA", "cookeis", "Ça va? Données personnelles — 日本語"]


def _reference(embedder, texts):
    return _load(embedder.model).encode(texts, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)


def test_small_batches_match_sentence_transformers_encode(raw_embedder):
    for texts in ([TEXTS[0]], TEXTS, TEXTS[::-1]):
        ours = raw_embedder.encode(texts)
        assert ours.dtype == np.float32 and ours.flags.c_contiguous
        np.testing.assert_allclose(ours, _reference(raw_embedder, texts), atol=2e-5)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_large_batches_take_the_library_path_and_agree(raw_embedder):
    texts = [f"{t} ({i})" for i in range(30) for t in TEXTS]  # more than one batch
    assert len(texts) > raw_embedder.batch_size
    np.testing.assert_allclose(raw_embedder.encode(texts), _reference(raw_embedder, texts),
                               atol=2e-5)


def test_nothing_to_encode_is_an_empty_matrix(raw_embedder):
    assert raw_embedder.encode([]).shape == (0, 384)
