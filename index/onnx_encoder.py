"""The embedding model on ONNX Runtime (`POLICY_QA_ENCODER=onnx` or `onnx-int8`).

Exported by this module from the very model the Embedder would load (the packaged
all-MiniLM-L6-v2 or a tuned folder): its transformer through `torch.onnx.export` with
eager attention and a padded example batch (so the attention mask stays in the graph),
then mean pooling and L2 normalisation in numpy, as the model's own Pooling and
Normalize modules do. `onnx` agrees with torch to about 1e-6 (checked at export: an
export that does not is refused); `onnx-int8` is the same graph with int8 weights
(ONNX Runtime's dynamic quantisation), whose quality is measured, not assumed (README,
Quality). Why: a question's embedding costs about a third of torch's here, because
eager PyTorch spends most of a one-question forward pass in per-module overhead.

Exports are cached per model, backend and library versions under `cache_dir`
(written atomically, so replicas sharing the folder never read half a file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ConfigError
from index.lanes import InFlight, lane_questions, one_thread
from index.runs import PaddedRunner, diff_from_torch, model_threads

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXPORT_VERSION = "2"  # bump when the export or quantisation changes (a new cache entry)
_AGREEMENT = 1e-4  # largest difference from torch an fp32 export may show


def _fingerprint(model_path: str, backend: str) -> str:
    import onnxruntime
    import torch

    files = sorted(p for p in Path(model_path).rglob("*") if p.is_file())
    parts = [backend, EXPORT_VERSION, torch.__version__, onnxruntime.__version__,
             *(f"{p.relative_to(model_path)}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
               for p in files)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _pooling_is_mean(st: Any) -> bool:
    names = [type(m).__name__ for m in st]
    if names[:2] != ["Transformer", "Pooling"] or any(n not in ("Normalize",) for n in names[2:]):
        return False
    config = st[1].get_config_dict()
    return config.get("pooling_mode") == "mean" or bool(config.get("pooling_mode_mean_tokens"))


def _export(model_path: str, out: Path, st: Any) -> None:
    import torch
    from transformers import AutoModel

    if not _pooling_is_mean(st):
        raise ConfigError("the onnx encoder supports models with mean pooling (as "
                          "all-MiniLM-L6-v2); use POLICY_QA_ENCODER=torch for this one")
    transformer = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    example = st.tokenizer(["a padded example batch of a few words", "hi"], padding=True,
                           return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on Python branches it freezes
        torch.onnx.export(LastHidden(transformer), tuple(example[n] for n in INPUTS),
                          str(out), input_names=list(INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)


def _quantize(source: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()  # quantize_dynamic logs a pre-processing tip on root
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        # per output channel: one scale per tensor cost 0.06 hit@1 on Korero
        quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8,
                         per_channel=True)
    finally:
        quiet.setLevel(level)


def exported(model_path: str, backend: str, cache_dir: Path, st: Any) -> Path:
    """The cached ONNX file of this model and backend, exported first if missing."""
    if backend not in BACKENDS[1:]:
        raise ConfigError(f"encoder must be one of {', '.join(BACKENDS)}; got {backend!r}")
    folder = Path(cache_dir).expanduser() / "onnx" / _fingerprint(model_path, backend)
    target = folder / "model.onnx"
    if target.is_file():
        return target
    try:
        return _export_into(folder, target, model_path, backend, st)
    except OSError as exc:
        raise ConfigError(f"cannot write the ONNX export in {folder} "
                          f"({exc.strerror or exc}); set POLICY_QA_MODEL_CACHE to a "
                          "writable folder") from None


def _export_into(folder: Path, target: Path, model_path: str, backend: str, st: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    log.info("exporting the embedding model to ONNX (%s) in %s, once", backend, folder)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export(model_path, fp32, st)
        runner = OnnxRunner(fp32, st.tokenizer, st.max_seq_length)
        diff = diff_from_torch(runner, st)
        if diff > _AGREEMENT:
            raise ConfigError(f"the ONNX export differs from torch by {diff:.2g}; use "
                              "POLICY_QA_ENCODER=torch")
        final = fp32
        if backend == "onnx-int8":
            final = Path(tmp) / "int8.onnx"
            _quantize(fp32, final)
        (folder / "export.json").write_text(json.dumps(
            {"model": model_path, "backend": backend, "max_diff_fp32_vs_torch": diff}),
            encoding="utf-8")
        os.replace(final, target)  # atomic: a reader sees no file or the whole file
    return target


class OnnxRunner(PaddedRunner):
    """Texts -> L2-normalised mean-pooled vectors through an exported transformer on
    ONNX Runtime (the tokenizing, runs and pooling are PaddedRunner's, index/runs.py).

    Sessions of the one file, each made when first needed: a run beside others or in a
    busy lane (index/lanes.py) goes to a one-thread session; any other run to one on
    every core whose threads sleep between runs, except, outside a server that answers
    in lanes, a run of one or two texts (a visitor's question, a word the decision
    needs), which goes to one whose threads spin-wait between runs (p50 6.0 against 6.8
    ms for a question alone here, `scripts/lanes.py`). In a server in lanes (`serve_in_lanes`)
    threads spinning after one lane's run would slow the other lane's, and the server
    answered 2 visitors at once a quarter slower that way (README); it holds two
    sessions, as it did before lanes. Runs are thread-safe."""

    SMALL = 2  # texts per run that use the spinning session

    def __init__(self, path: Path, tokenizer: Any, max_length: int,
                 threads: int | None = None) -> None:
        self.threads = threads or model_threads()
        self.serving = False  # set by serve_in_lanes
        self._path = path
        self._sessions: dict[str, Any] = {}
        self._made = threading.Lock()
        self._flight = InFlight()
        super().__init__(tokenizer, max_length,
                         {i.name for i in self._session("sleeping").get_inputs()})

    @property
    def lanes(self) -> int:
        """Runs this runner takes at once, one core each: its threads, at most the
        cores this process may use (and 64)."""
        return max(1, min(self.threads, len(os.sched_getaffinity(0)), 64))

    def serve_in_lanes(self) -> None:
        """A server answers in lanes from now on: its one-thread session is made now
        (not on the first busy request), and every run on every core, a lone visitor's
        included, takes the session whose threads sleep (it never makes the spinning
        one)."""
        self.serving = True
        self._session("one thread")

    def _hidden(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        with self._flight.run() as others:
            if self.threads > 1 and one_thread(others):
                kind = "one thread"
            elif not self.serving and (len(feed["input_ids"]) <= self.SMALL
                                       or lane_questions()):
                kind = "spinning"
            else:
                kind = "sleeping"
            return self._session(kind).run(None, feed)[0]

    def _session(self, kind: str) -> Any:
        """The session of one kind ("spinning", "sleeping", "one thread"), made once."""
        session = self._sessions.get(kind)
        if session is None:
            with self._made:
                session = self._sessions.get(kind)
                if session is None:
                    session = self._sessions[kind] = _session(
                        self._path, 1 if kind == "one thread" else self.threads,
                        spin=kind == "spinning")
        return session


def _session(path: Path, threads: int, *, spin: bool) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
