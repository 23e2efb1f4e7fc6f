"""The serving figures of `policy-qa bench`, each against what the model alone costs
in the same run: the raw encoder (one query; batches of 32), the time to import the
stack and load the model, and the server's CPU while nobody uses it."""

from __future__ import annotations

import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from index.embed import Embedder
from index.lanes import lane
from ui.bench.stats import distinct

BATCH = 32
# the third-party stack a server imports, and the model it loads: what start-up cannot
# avoid; everything else before /healthz answers is ours
STACK = """
import time
started = time.perf_counter()
import faiss, fastapi, gradio, uvicorn, sentence_transformers  # noqa
from index.embed import Embedder
Embedder().warm_up()
print(time.perf_counter() - started)
"""


def encoder_rates(embedder: Embedder, questions: Sequence[str], rounds: int = 3
                  ) -> dict[str, Any]:
    """Raw `encode` with distinct texts: p50 of one query, and queries per second in
    batches of 32 (the median of `rounds` passes over the questions), one batch after
    another and, where the encoder takes several runs at once (index/lanes.py), in as
    many threads as it has lanes; `capacity_per_s` is the better of the two."""
    texts = distinct(questions, len(questions), "raw")
    embedder.encode(texts[:BATCH])  # warm: first-call allocations
    singles = []
    for text in texts[: min(len(texts), 200)]:
        started = time.perf_counter()
        embedder.encode([text])
        singles.append(time.perf_counter() - started)
    batches = [texts[i:i + BATCH] for i in range(0, len(texts) - BATCH + 1, BATCH)] or [texts]
    n = sum(map(len, batches))
    out: dict[str, Any] = {"one_query_p50_ms": round(statistics.median(singles) * 1000, 3),
                           "batch": BATCH, "queries": len(singles)}
    for name, lanes in (("batched", 1), ("lanes", embedder.lanes)):
        if name == "lanes" and lanes < 2:
            break
        in_lanes(embedder.encode, batches[:lanes], lanes)  # warm: the lanes' session
        rates, cpu = [], time.process_time()
        for r in range(rounds):
            work = [[f"{t} {r}" for t in batch] for batch in batches]
            rates.append(n / in_lanes(embedder.encode, work, lanes))
        out[f"{name}_per_s"] = round(statistics.median(rates), 1)
        out[f"{name}_cpu_ms_per_query"] = round(
            (time.process_time() - cpu) * 1000 / (rounds * n), 3)
    out["lanes"] = embedder.lanes
    best = "lanes" if out.get("lanes_per_s", 0.0) > out["batched_per_s"] else "batched"
    out["capacity_per_s"] = out[f"{best}_per_s"]
    out["capacity_cpu_ms_per_query"] = out[f"{best}_cpu_ms_per_query"]
    return out


def in_lanes(fn: Callable[[Any], Any], items: Sequence[Any], lanes: int) -> float:
    """Wall seconds to call `fn` on every item (a batch), in `lanes` threads that take
    the items in turn, each call in a `lane` as the server's batcher makes them when
    there are several; one lane: in this thread."""
    if lanes < 2:
        started = time.perf_counter()
        for item in items:
            fn(item)
        return time.perf_counter() - started
    work: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for item in items:
        work.put(item)
    failed: list[BaseException] = []

    def one_lane() -> None:
        while True:
            try:
                item = work.get_nowait()
            except queue.Empty:
                return
            try:
                with lane(len(item)):
                    fn(item)
            except BaseException as exc:  # noqa: BLE001 - raised below, in the caller
                failed.append(exc)
                return

    threads = [threading.Thread(target=one_lane, daemon=True) for _ in range(lanes)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    return time.perf_counter() - started


def answering_batched(ask_many: Callable[[Sequence[str]], Any], questions: Sequence[str],
                      lanes: int = 1) -> dict[str, Any]:
    """The answering path without HTTP, in batches of 32 as the server's batcher forms
    them under load, in as many lanes as its batcher has: CPU time (all threads) and
    wall time per answer."""
    batches = [list(questions[i:i + BATCH]) for i in range(0, len(questions), BATCH)]
    cpu = time.process_time()
    wall = in_lanes(ask_many, batches, lanes)
    n = max(1, len(questions))
    return {"answers": len(questions), "batch": BATCH, "lanes": lanes,
            "cpu_ms_per_answer": round((time.process_time() - cpu) * 1000 / n, 3),
            "per_s": round(n / wall, 1)}


def stack_start_s(runs: int = 1) -> float:
    """Seconds for a fresh interpreter to import the stack and load the model (median)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", STACK], env=env, check=True,
                       capture_output=True, timeout=600)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all threads), in clock ticks."""
    return _ticks(Path(f"/proc/{pid}/stat"))


def _ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def thread_ticks(pid: int) -> dict[str, int]:
    """CPU ticks per thread name (threads of one name summed); threads that end while
    being read are left out."""
    out: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            out[name] = out.get(name, 0) + _ticks(task / "stat")
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def idle_cpu(pid: int, seconds: float) -> dict[str, Any]:
    """Per cent of one core the process used over `seconds` of doing nothing, and the
    threads that used it (ms each, the busiest first)."""
    before, threads = cpu_ticks(pid), thread_ticks(pid)
    started = time.monotonic()
    time.sleep(seconds)
    ticks = cpu_ticks(pid) - before
    wall = time.monotonic() - started
    per_s = os.sysconf("SC_CLK_TCK")
    used = {name: n - threads.get(name, 0) for name, n in thread_ticks(pid).items()}
    busy = sorted(((n, name) for name, n in used.items() if n > 0), reverse=True)
    return {"seconds": round(wall, 1), "cpu_s": round(ticks / per_s, 3),
            "pct_of_core": round(100.0 * ticks / per_s / wall, 3),
            "threads_ms": {name: round(n * 1000 / per_s) for n, name in busy[:4]}}


def worst_idle(http: dict[str, Any]) -> float | None:
    """The higher of the two idle figures (after start-up, after the load)."""
    values = [(http.get(key) or {}).get("pct_of_core") for key in ("idle", "idle_after_load")]
    known = [v for v in values if v is not None]
    return max(known) if known else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


TARGETS = {"throughput_32_vs_encoder": (">=", 0.75), "p50_1_vs_one_embedding": ("<=", 1.3),
           "idle_cpu_pct_of_core": ("<=", 0.5), "cold_start_vs_stack": ("<=", 1.5)}


def serving_ratios(http: dict[str, Any], encoder: dict[str, Any],
                   in_process: dict[str, Any] | None = None) -> dict[str, Any]:
    """The four serving figures and whether each meets its target; with the in-process
    latency on the same encoder, the 1-client ratio split into the answering path's
    factor and HTTP's (their product; not targets)."""
    unique = http.get("unique", {})
    top = unique.get(str(max(map(int, unique), default=0)), {})
    one = unique.get("1", {})
    figures = {
        "throughput_32_vs_encoder": ratio(top.get("throughput_rps"), _capacity(encoder)),
        "p50_1_vs_one_embedding": ratio(one.get("p50_ms"), encoder["one_query_p50_ms"]),
        "idle_cpu_pct_of_core": worst_idle(http),
        "cold_start_vs_stack": ratio(http.get("ready_s"), http.get("stack_s")),
    }
    met = {name: (None if value is None else
                  value >= TARGETS[name][1] if TARGETS[name][0] == ">=" else
                  value <= TARGETS[name][1]) for name, value in figures.items()}
    split = {}
    if encoder.get("lanes_per_s"):  # the first reading: batches one at a time
        split["throughput_32_vs_one_stream"] = ratio(top.get("throughput_rps"),
                                                     encoder["batched_per_s"])
    if in_process and in_process.get("p50_ms"):
        split = {"in_process_p50_vs_one_embedding":
                 ratio(in_process["p50_ms"], encoder["one_query_p50_ms"]),
                 "http_p50_vs_in_process": ratio(one.get("p50_ms"), in_process["p50_ms"]),
                 **split}
    return {**figures, **split, "met": met}


def _capacity(encoder: dict[str, Any]) -> float | None:
    """The encoder's best batched rate (older reports: its one-stream rate)."""
    return encoder.get("capacity_per_s") or encoder.get("batched_per_s")


def cpu_budget(http: dict[str, Any], encoder: dict[str, Any],
               answering: dict[str, Any] | None, cores: int) -> dict[str, Any] | None:
    """Where the CPU of one answer goes at the most clients, against the encoder's batched
    rate: the model (the raw encoder's CPU per query in batches), the rest of the
    answering path (in-process, batched), HTTP and the web stack (the server's CPU per
    answer less the in-process path) and the load client, which shares the cores. With
    every core busy, throughput is at most cores / (server + client) CPU per answer:
    `ceiling_vs_encoder`; `model_only_ceiling_vs_encoder` is that bound for a server
    that cost nothing but the model."""
    unique = http.get("unique", {})
    top = unique.get(str(max(map(int, unique), default=0)), {})
    server, client = top.get("server_cpu_ms_per_answer"), top.get("client_cpu_ms_per_request")
    # the CPU of the measurement that set the rate (older reports: the one stream's)
    model = encoder.get("capacity_cpu_ms_per_query") or encoder.get("batched_cpu_ms_per_query")
    rate = _capacity(encoder)
    if not (server and client is not None and model and rate):
        return None
    path = answering.get("cpu_ms_per_answer") if answering else None
    budget: dict[str, Any] = {
        "clients": top.get("clients"), "cores": cores, "model_ms": model,
        "answering_beyond_model_ms": round(path - model, 3) if path else None,
        "http_and_web_ms": round(server - path, 3) if path else None,
        "server_ms": server, "client_ms": client,
        "ceiling_vs_encoder": ratio(cores * 1000 / (server + client), rate),
        "model_only_ceiling_vs_encoder": ratio(cores * 1000 / (model + client), rate),
        "cores_busy": round((server + client) * (top.get("throughput_rps") or 0) / 1000, 2),
    }
    return budget
