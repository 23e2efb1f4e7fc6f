"""What one ONNX Runtime run of the embedding model costs on this machine: a fixed part
and a part per padded token, fitted by least squares over runs of 1-32 texts of 4-64
tokens. Their ratio is index/runs.py's RUN_COST_TOKENS (how many padded tokens one
more run is worth when an encoder call is split into runs of similar length).

Usage: HF_HUB_OFFLINE=1 .venv/bin/python scripts/run_costs.py
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.settings import create_embedder, load_settings  # noqa: E402

ROWS = (1, 2, 4, 8, 16, 32)
WIDTHS = (4, 8, 16, 32, 64)
REPEATS = 7


def main() -> int:
    embedder = create_embedder(replace(load_settings(), encoder="onnx"))
    runner = embedder._runner()
    shapes, seconds = [], []
    for rows in ROWS:
        for width in WIDTHS:
            batch = [[101] + [2023] * (width - 2) + [102]] * rows
            runner._batch(batch)  # warm
            times = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                runner._batch(batch)
                times.append(time.perf_counter() - started)
            shapes.append(rows * width)
            seconds.append(float(np.median(times)))
    fit = np.linalg.lstsq(np.c_[np.ones(len(shapes)), shapes], np.array(seconds), rcond=None)
    fixed, per_token = fit[0]
    print(f"fixed cost per run {fixed * 1000:.2f} ms, per padded token {per_token * 1000:.3f} ms"
          f" -> one run is worth {fixed / per_token:.0f} padded tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
