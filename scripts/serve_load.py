"""A longer load than `policy-qa bench`'s, for profiling the serving path (issue 15):
the bench's own server and load client (ui/bench/http.py) on the bundled policy, with
POLICY_QA_ENCODER and POLICY_QA_LANES as set (default auto and 0). After a warm-up,
4,000 distinct questions (the bench's word suffixes) from 32 clients; with --one 300
from one client; with --clients 1,4,32 each count in turn on the same server (125
questions per client, at least 300, 4,000 at 32 and more). Prints answers/s, p50 and p99
ms, the server's CPU ms per answer, the load client's own CPU ms per request and the
server's peak RSS so far. --profile also records 25 s
of py-spy (pip install 'policy-qa[bench]') into WORK/ENCODER.raw (`py-spy record -r 200
-f raw -t`).

Usage: HF_HUB_OFFLINE=1 .venv/bin/python scripts/serve_load.py [--profile]
       [--one | --clients N,N,...] [WORK]
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


def _options(argv: list[str]) -> tuple[bool, list[int], list[str]]:
    """(--profile, the client counts: --clients 1,4,32 or --one for 1; default 32, the
    other arguments)."""
    profile, clients, rest = False, [32], []
    args = iter(argv)
    for arg in args:
        if arg == "--profile":
            profile = True
        elif arg == "--one":
            clients = [1]
        elif arg == "--clients":
            clients = [int(n) for n in next(args).split(",")]
        else:
            rest.append(arg)
    return profile, clients, rest


def main(argv: list[str]) -> int:
    profile, counts, rest = _options(argv)
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
        for clients in counts:
            count = 4000 if clients >= 32 else max(300, 125 * clients)
            before = os.times()
            out = load(port, distinct(questions, count, f"load{clients}"), clients, pid)
            after = os.times()
            client = (after.user + after.system - before.user - before.system) * 1000 / count
            print(f"clients {clients}  answers/s {out['throughput_rps']}  p50 ms "
                  f"{out['p50_ms']}  p99 ms {out['p99_ms']}  server CPU ms/answer "
                  f"{out['server_cpu_ms_per_answer']}  client CPU ms/request {client:.2f}  "
                  f"server peak RSS MB {peak_rss_mb(pid)}  errors {out['errors']}", flush=True)
        if spy is not None:
            spy.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
