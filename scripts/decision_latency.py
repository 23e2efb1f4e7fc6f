"""In-process answer latency on questions the process has not seen before, with the
answerability decision and with the fixed threshold (issues 14 and 15): what the
decision costs per answer, on the bundled Korero policy and the packaged model.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/decision_latency.py

Each rule answers 70 questions of tests/data/korero-{questions,dev}.jsonl that no
earlier run in this process asked (so the decision's word cover is cold, as for a new
visitor's words); the threshold rule runs first and last, to show the drift between runs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.embed import Embedder  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.store import build_index  # noqa: E402
from qa.service import Service  # noqa: E402
from qa.settings import BUNDLED_POLICY, Settings  # noqa: E402


def questions() -> list[str]:
    rows = []
    for name in ("korero-questions", "korero-dev"):
        path = ROOT / "tests" / "data" / f"{name}.jsonl"
        rows += [json.loads(line)["question"] for line in path.open() if line.strip()]
    return rows


def main() -> None:
    embedder = Embedder().warm_up()
    index = build_index(load_policy(BUNDLED_POLICY), embedder)
    asked = questions()
    for decision, part in (("threshold", asked[20:90]), ("answerability", asked[90:160]),
                           ("threshold", asked[90:160])):
        service = Service(Settings(cache_size=0, decision=decision), index=index,
                          embedder=embedder).warm_up()
        times = []
        for question in part:
            start = time.perf_counter()
            service.ask(question)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(f"{decision:14s} p50 {times[len(times) // 2]:6.2f} ms   "
              f"p90 {times[int(len(times) * 0.9)]:6.2f} ms   ({len(times)} questions)")


if __name__ == "__main__":
    main()
