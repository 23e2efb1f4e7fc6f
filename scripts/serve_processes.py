"""Would several server processes on one machine answer more than one (issue 15)? The
bench's own server and load client (ui/bench/http.py) on the bundled policy: one
`policy-qa serve` loaded by 32 clients, against N processes on ports of their own, each
loaded by 32/N clients at the same time (the encoder's threads per process set by
OMP_NUM_THREADS, which the exported encoders follow). Both answer the same number of
distinct questions; prints total answers/s of each layout and the ratio to one process.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python scripts/serve_processes.py [PROCESSES [THREADS]]
(default 2 processes of 1 thread; POLICY_QA_ENCODER as set, default auto)
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.embed import Embedder  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.store import build_index, save_index  # noqa: E402
from qa.settings import load_settings  # noqa: E402
from ui.bench.http import load, server  # noqa: E402
from ui.bench.stats import distinct  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "korero-questions.jsonl"
TOTAL, CLIENTS = 4000, 32


def layout(work: Path, index_dir: Path, processes: int, threads: str | None,
           questions: list[str]) -> float:
    """Answers/s of `processes` servers loaded at once, TOTAL distinct questions in all."""
    settings = load_settings()
    saved = os.environ.get("OMP_NUM_THREADS")
    if threads:
        os.environ["OMP_NUM_THREADS"] = threads
    try:
        with contextlib.ExitStack() as stack:
            ports = []
            for i in range(processes):
                folder = work / f"{processes}x{threads or 'default'}-{i}"
                folder.mkdir(parents=True)
                ports.append(stack.enter_context(server(settings, index_dir, folder))[0])
            for port in ports:
                load(port, questions[:16], 1)  # warm-up
            shares = [distinct(questions, TOTAL // processes, f"p{i}") for i in range(processes)]
            workers = [threading.Thread(target=load, args=(port, share, CLIENTS // processes))
                       for port, share in zip(ports, shares, strict=True)]
            started = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            return TOTAL // processes * processes / (time.perf_counter() - started)
    finally:
        if threads:
            if saved is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = saved


def main(argv: list[str]) -> int:
    processes = int(argv[0]) if argv else 2
    threads = argv[1] if len(argv) > 1 else "1"
    work = Path(tempfile.mkdtemp(prefix="policy-qa-processes-"))
    settings = load_settings()
    index_dir = save_index(build_index(load_policy(settings.policy), Embedder()),
                           work / "index")
    questions = [json.loads(line)["question"] for line in QUESTIONS.open(encoding="utf-8")]
    one = layout(work, index_dir, 1, None, questions)
    many = layout(work, index_dir, processes, threads, questions)
    print(f"1 process: {one:.1f} answers/s; {processes} processes x {threads} thread(s): "
          f"{many:.1f} answers/s; ratio {many / one:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
