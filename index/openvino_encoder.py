"""The embedding model on OpenVINO (`POLICY_QA_ENCODER=openvino` or `openvino-bf16`).

OpenVINO compiles the project's own ONNX export (index/onnx_encoder.py: the same file
`onnx` runs, checked against torch when it was made) for this CPU. `openvino` keeps
fp32 arithmetic; `openvino-bf16` lets it compute in bfloat16, which CPUs with AMX or
AVX-512 BF16 run natively: several times the batch rate of fp32 here, with vectors
within about 1e-3 of torch's. Both are checked against torch on probe texts when the
runner is made (`openvino_runner`), and bf16's quality is measured, not assumed (README,
Quality: `scripts/encoder_quality.sh`). On a CPU without native bf16, OpenVINO itself
falls back to fp32.

Threads sleep between runs: OpenVINO's own pool is told to use as many threads as
torch would, and an idle server costs nothing.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ConfigError
from index.runs import PaddedRunner, diff_from_torch, model_threads

PRECISIONS = {"openvino": "f32", "openvino-bf16": "bf16"}
# largest difference from torch (L2-normalised vectors) each precision may show on the
# probes; bf16 keeps 8 bits of mantissa, so about 1e-3 is expected
AGREEMENT = {"f32": 1e-4, "bf16": 1e-2}


class OpenVinoRunner(PaddedRunner):
    """The export compiled by OpenVINO for the CPU, at `precision` ("f32" or "bf16")."""

    def __init__(self, path: Path, tokenizer: Any, max_length: int, precision: str,
                 threads: int | None = None) -> None:
        self.precision = precision
        self._compiled = _core().compile_model(str(path), "CPU", {
            "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": threads or model_threads(),
            "PERFORMANCE_HINT": "LATENCY",
        })
        self._local = threading.local()  # an infer request is used by one thread at a time
        super().__init__(tokenizer, max_length,
                         {name for port in self._compiled.inputs for name in port.names})

    def _hidden(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        return request.infer(feed)[0].copy()  # the request reuses its output buffer


@functools.lru_cache(maxsize=1)
def _core() -> Any:
    """OpenVINO's runtime, one per process."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise ConfigError(f"the openvino encoders need the openvino package ({exc})") from None
    return ov.Core()


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether OpenVINO runs bfloat16 natively on this CPU (False without openvino)."""
    try:
        return "BF16" in _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - no openvino, or no answer: not native
        return False


def openvino_runner(path: Path, st: Any, backend: str) -> OpenVinoRunner:
    """A runner for `backend`, refused unless it gives torch's vectors on the probes."""
    runner = OpenVinoRunner(path, st.tokenizer, st.max_seq_length, PRECISIONS[backend])
    diff = diff_from_torch(runner, st)
    if diff > AGREEMENT[runner.precision]:
        raise ConfigError(f"OpenVINO ({runner.precision}) differs from torch by {diff:.2g}; "
                          "use POLICY_QA_ENCODER=onnx or torch")
    return runner
