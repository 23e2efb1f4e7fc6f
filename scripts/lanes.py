"""Why the server runs one batch per core (index/lanes.py): the packaged model's ONNX
export on ONNX Runtime, with distinct Korero questions in batches of 32, as one stream
of batches on every core, as one stream on one thread, and as one stream per core with
one thread each (sharing one session); and one question alone (3 ms apart) on every
core, with threads that spin between runs or sleep, and on one thread. Prints
questions/s and CPU ms per question for each, twice.

Usage: HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/lanes.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.embed import PACKAGED_NAMES, _load, _model_path  # noqa: E402
from index.onnx_encoder import OnnxRunner, exported  # noqa: E402
from index.runs import model_threads  # noqa: E402
from qa.settings import load_settings  # noqa: E402
from ui.bench.serving import in_lanes  # noqa: E402
from ui.bench.stats import distinct  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "korero-questions.jsonl"


def main() -> int:
    settings = load_settings()
    name = PACKAGED_NAMES[0]
    st = _load(name)
    cache = settings.model_cache or Path(tempfile.gettempdir()) / "policy-qa"
    path = exported(_model_path(name), "onnx", cache, st)
    cores = model_threads()
    every = OnnxRunner(path, st.tokenizer, st.max_seq_length, threads=cores)
    one = OnnxRunner(path, st.tokenizer, st.max_seq_length, threads=1)
    questions = [json.loads(line)["question"] for line in QUESTIONS.open(encoding="utf-8")]
    texts = distinct(questions, 640, "lanes")
    batches = [texts[i:i + 32] for i in range(0, len(texts), 32)]
    for runner in (every, one):
        runner.encode(texts[:32])
    print(f"{cores} cores; batches of 32, {len(texts)} distinct questions")
    for rep in range(2):
        for label, runner, lanes in ((f"one stream, {cores} threads", every, 1),
                                     ("one stream, 1 thread", one, 1),
                                     (f"{cores} streams, 1 thread each", one, cores)):
            cpu = time.process_time()
            wall = in_lanes(runner.encode, batches, lanes)
            cpu_ms = (time.process_time() - cpu) * 1000 / len(texts)
            print(f"  pass {rep + 1}  {label:<28} {len(texts) / wall:7.1f} questions/s  "
                  f"{cpu_ms:5.2f} CPU ms/question")
    serving = OnnxRunner(path, st.tokenizer, st.max_seq_length, threads=cores)
    serving.serve_in_lanes()  # a server in lanes: every-core runs on threads that sleep
    for label, runner in ((f"{cores} threads, spinning", every),
                          (f"{cores} threads, sleeping", serving), ("1 thread", one)):
        times = []
        for text in texts[:200]:
            started = time.perf_counter()
            runner.encode([text])
            times.append(time.perf_counter() - started)
            time.sleep(0.003)  # a visitor's pause: the threads go idle between runs
        print(f"  one question alone, {label:<22} p50 "
              f"{statistics.median(times) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
