"""The model on ONNX Runtime (POLICY_QA_ENCODER=onnx / onnx-int8): exported by the
project's own code from the packaged model, cached, and giving torch's vectors (fp32)
or close ones (int8); a service on it answers as the torch one does. Its quality on
every labelled policy is measured by scripts/encoder_quality.sh (README)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import index.openvino_encoder as openvino_encoder
from index.embed import Embedder, auto_backends
from index.errors import ConfigError
from qa.service import Service
from qa.settings import Settings, create_embedder
from ui.cli.main import main

TEXTS = ["Do you sell my data?",
         "How long do you keep the e-mail messages I send to customer support, and can I "
         "ask you to delete them before that?",
         "HIPAA", "cookeis", "Ça va? Données personnelles — 日本語", "37"]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def onnx_embedder(model_cache) -> Embedder:
    return Embedder(backend="onnx", cache_dir=model_cache).warm_up()


def test_the_fp32_export_gives_torchs_vectors(onnx_embedder, embedder):
    for texts in ([TEXTS[0]], TEXTS, TEXTS[::-1], [f"{t} {i}" for i in range(15) for t in TEXTS]):
        ours = onnx_embedder.encode(texts)
        assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
        np.testing.assert_allclose(ours, embedder.encode(texts), atol=1e-5)


def test_the_export_is_cached_and_says_how_close_it_is(onnx_embedder, model_cache):
    (export,) = list((model_cache / "onnx").glob("*/model.onnx"))
    record = json.loads((export.parent / "export.json").read_text("utf-8"))
    assert record["backend"] == "onnx" and record["max_diff_fp32_vs_torch"] < 1e-4
    stamp = export.stat().st_mtime_ns
    again = Embedder(backend="onnx", cache_dir=model_cache).warm_up()
    np.testing.assert_array_equal(again.encode(TEXTS), onnx_embedder.encode(TEXTS))
    assert export.stat().st_mtime_ns == stamp  # not exported twice
    assert not [p for p in export.parent.iterdir() if p.name not in
                ("model.onnx", "export.json")]  # no temporary file left behind


def test_int8_is_smaller_and_close(model_cache, embedder):
    int8 = Embedder(backend="onnx-int8", cache_dir=model_cache).warm_up()
    files = {json.loads((p.parent / "export.json").read_text("utf-8"))["backend"]: p
             for p in (model_cache / "onnx").glob("*/model.onnx")}
    assert files["onnx-int8"].stat().st_size < 0.5 * files["onnx"].stat().st_size
    cosines = np.sum(int8.encode(TEXTS) * embedder.encode(TEXTS), axis=1)
    # per-channel weights: about 0.99 (one scale per tensor gave 0.93 at worst)
    assert cosines.min() > 0.97 and cosines.mean() > 0.98, cosines


def test_a_service_on_onnx_answers_as_on_torch(korero_index, korero_index_dir, onnx_embedder,
                                               service, tmp_path):
    on_onnx = Service(Settings(index=korero_index_dir, outbox=tmp_path / "o.sqlite3",
                               maildir=tmp_path / "maildir",
                               analytics=tmp_path / "a.sqlite3"),
                      index=korero_index, embedder=onnx_embedder)
    for question in ("Do you sell my data?", "How do you use cookies?",
                     "Are you HIPAA compliant?"):
        a, b = service.ask(question), on_onnx.ask(question)
        assert (a.resolved, [p.anchor for p in a.passages]) == \
            (b.resolved, [p.anchor for p in b.passages])
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)


def test_the_setting_picks_the_encoder_and_rejects_others(tmp_path):
    assert create_embedder(Settings(encoder="onnx", model_cache=tmp_path)).backend == "onnx"
    assert create_embedder(Settings()).backend == "auto"
    assert create_embedder(Settings(encoder="torch")).engine == "torch"
    with pytest.raises(ConfigError, match="encoder must be one of auto, torch, onnx, onnx-int8"):
        Settings(encoder="tensorrt")


def test_a_bad_encoder_setting_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("POLICY_QA_ENCODER", "gpu")
    assert main(["ask", "Do you sell my data?"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "encoder must be one of" in err


def test_an_unwritable_model_cache_is_a_clear_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", "utf-8")  # the cache path runs through a file
    with pytest.raises(ConfigError, match="cannot write the ONNX export .*POLICY_QA_MODEL_CACHE"):
        Embedder(backend="onnx", cache_dir=blocked).warm_up()


def test_auto_runs_onnx_and_falls_back_to_torch_with_a_warning(tmp_path, model_cache, embedder,
                                                               caplog):
    auto = Embedder(backend="auto", cache_dir=model_cache)
    assert auto.engine == auto_backends()[0]  # openvino-bf16 where the CPU runs bf16
    np.testing.assert_allclose(auto.encode(TEXTS), embedder.encode(TEXTS),
                               atol=1e-5 if auto.engine == "onnx" else 1e-2)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", "utf-8")  # no export possible: torch, said once
    fallback = Embedder(backend="auto", cache_dir=blocked)
    with caplog.at_level("WARNING", logger="index.embed"):
        assert fallback.engine == "torch"
        np.testing.assert_allclose(fallback.encode(TEXTS), embedder.encode(TEXTS), atol=1e-6)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "runs on torch" in warnings[0]
    assert "POLICY_QA_MODEL_CACHE" in warnings[0]


def test_auto_without_openvino_runs_onnx_quietly(tmp_path, monkeypatch, embedder, caplog):
    def unavailable(*args, **kwargs):
        raise ConfigError("the openvino encoders need the openvino package (gone)")

    monkeypatch.setattr(openvino_encoder, "native_bf16", lambda: True)
    monkeypatch.setattr(openvino_encoder, "OpenVinoRunner", unavailable)
    auto = Embedder(backend="auto", cache_dir=tmp_path)
    with caplog.at_level("INFO", logger="index.embed"):
        assert auto.engine == "onnx"
    np.testing.assert_allclose(auto.encode(TEXTS), embedder.encode(TEXTS), atol=1e-5)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("openvino-bf16: the openvino encoders need" in r.getMessage()
               for r in caplog.records)


def test_the_export_gives_torchs_token_vectors(onnx_embedder, embedder):
    """Late interaction reads the tokens from the same runs (qa/answering/late.py)."""
    texts = [*TEXTS, "HIPAA"]
    ours, ours_tokens = onnx_embedder.encode_tokens(texts)
    reference, reference_tokens = embedder.encode_tokens(texts)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    for a, b in zip(ours_tokens, reference_tokens, strict=True):
        assert a.ids.tolist() == b.ids.tolist()
        np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-4)
