"""The model on OpenVINO (POLICY_QA_ENCODER=openvino / openvino-bf16): the project's own
ONNX export compiled for this CPU, giving torch's vectors (fp32) or close ones (bf16),
checked against torch when the runner is made; a service on bf16 answers as the torch
one does. Its quality on every labelled policy: scripts/encoder_quality.sh (README)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import index.openvino_encoder as openvino_encoder
from index.embed import Embedder
from index.errors import ConfigError
from qa.service import Service
from qa.settings import Settings, create_embedder

TEXTS = ["Do you sell my data?",
         "How long do you keep the e-mail messages I send to customer support, and can I "
         "ask you to delete them before that?",
         "HIPAA", "cookeis", "Ça va? Données personnelles — 日本語", "37"]
MIXED = [f"{t} {i}" for i in range(15) for t in TEXTS]  # 90 texts of many lengths


@pytest.fixture(scope="module")
def bf16(tmp_path_factory) -> Embedder:
    return Embedder(backend="openvino-bf16",
                    cache_dir=tmp_path_factory.mktemp("models")).warm_up()


def test_fp32_gives_torchs_vectors(tmp_path, embedder):
    fp32 = Embedder(backend="openvino", cache_dir=tmp_path).warm_up()
    assert fp32.engine == "openvino"
    for texts in ([TEXTS[0]], TEXTS, MIXED):
        ours = fp32.encode(texts)
        assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
        np.testing.assert_allclose(ours, embedder.encode(texts), atol=1e-5)


def test_bf16_is_close_to_torch_in_every_row_and_order(bf16, embedder):
    assert bf16.engine == "openvino-bf16"
    ours, reference = bf16.encode(MIXED), embedder.encode(MIXED)
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() > 0.999, cosines.min()
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # one text alone gives its row of the batch: the runs and their padding change nothing
    for i in (0, 7, 44, 89):
        np.testing.assert_allclose(bf16.encode([MIXED[i]])[0], ours[i], atol=5e-3)


def test_threads_share_one_runner_safely(bf16):
    expected = bf16.encode(MIXED)
    results: list[np.ndarray] = []
    runner = bf16._runner()  # below the Embedder's lock, as two Embedders of a process are

    def work() -> None:
        for _ in range(5):
            results.append(runner.encode(MIXED))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 15
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6)


def test_a_service_on_bf16_answers_as_on_torch(korero_index, korero_index_dir, bf16, service,
                                               tmp_path):
    on_bf16 = Service(Settings(index=korero_index_dir, outbox=tmp_path / "o.sqlite3",
                               maildir=tmp_path / "maildir", analytics=tmp_path / "a.sqlite3"),
                      index=korero_index, embedder=bf16)
    for question in ("Do you sell my data?", "How do you use cookies?",
                     "Are you HIPAA compliant?", "how long do you keep my messages"):
        a, b = service.ask(question), on_bf16.ask(question)
        assert (a.resolved, [p.anchor for p in a.passages]) == \
            (b.resolved, [p.anchor for p in b.passages])
        assert a.confidence == pytest.approx(b.confidence, abs=1e-2)


def test_a_runner_that_disagrees_with_torch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(openvino_encoder.AGREEMENT, "bf16", 1e-9)
    with pytest.raises(ConfigError, match="differs from torch"):
        Embedder(backend="openvino-bf16", cache_dir=tmp_path).warm_up()


def test_the_setting_names_both(tmp_path):
    for name in ("openvino", "openvino-bf16"):
        assert create_embedder(Settings(encoder=name, model_cache=tmp_path)).backend == name


def test_bf16_token_vectors_are_torchs_in_order(bf16, embedder):
    """Late interaction reads the tokens from the same runs (qa/answering/late.py)."""
    ours, reference = bf16.encode_tokens(MIXED[:20]), embedder.encode_tokens(MIXED[:20])
    for a, b in zip(ours[1], reference[1], strict=True):
        assert a.ids.tolist() == b.ids.tolist()
        assert np.sum(a.vectors * b.vectors, axis=1).min() > 0.99
