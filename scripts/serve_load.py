"""A longer load than `policy-qa bench`'s, for profiling the serving path (issue 15):
the bench's own server and load client (ui/bench/http.py) on the bundled policy, with
POLICY_QA_ENCODER and POLICY_QA_LANES as set (default auto and 0). After a warm-up,
4,000 distinct questions (the bench's word suffixes) from 32 clients, or with --one 300
from one client; prints answers/s, p50 ms, the server's CPU ms per answer, the load
client's own CPU ms per request and the server's peak RSS. --profile also records 25 s
of py-spy (pip install 'policy-qa[bench]') into WORK/ENCODER.raw (`py-spy record -r 200
-f raw -t`).

Usage: HF_HUB_OFFLINE=1 .venv/bin/python scripts/serve_load.py [--profile] [--one] [WORK]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.embed import Embedder  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.store import build_index, save_index  # noqa: E402
from qa.settings import load_settings  # noqa: E402
from ui.bench.http import load, peak_rss_mb, server  # noqa: E402
from ui.bench.stats import distinct  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "korero-questions.jsonl"


def main(argv: list[str]) -> int:
    profile, one = "--profile" in argv, "--one" in argv
    rest = [a for a in argv if a not in ("--profile", "--one")]
    count, clients = (300, 1) if one else (4000, 32)
    work = Path(rest[0] if rest else tempfile.mkdtemp(prefix="policy-qa-load-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    index_dir = save_index(build_index(load_policy(settings.policy), Embedder()),
                           work / "index")
    questions = [json.loads(line)["question"] for line in QUESTIONS.open(encoding="utf-8")]
    with server(settings, index_dir, work) as (port, pid, _):
        load(port, questions[:16], 1)  # warm-up
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-r",
             "200", "-f", "raw", "-t", "-d", "25", "-o", str(work / f"{settings.encoder}.raw")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if profile else None
        before = os.times()
        out = load(port, distinct(questions, count, "load"), clients, pid)
        after = os.times()
        rss = peak_rss_mb(pid)
        if spy is not None:
            spy.wait()
    client = (after.user + after.system - before.user - before.system) * 1000 / count
    print(f"answers/s {out['throughput_rps']}  p50 ms {out['p50_ms']}  server CPU ms/answer "
          f"{out['server_cpu_ms_per_answer']}  client CPU ms/request {client:.2f}  "
          f"server peak RSS MB {rss}  errors {out['errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
