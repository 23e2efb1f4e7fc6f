"""`policy-qa bench`: speed and memory of ours next to the tutorial pipeline, in one run.

Measures index build time (the Korero policy, and every PolicyQA-dev policy when
given), cold start to first answer (a fresh `python -c` process), in-process answer
latency over >= 500 questions (answer cache disabled, and again cached), /api/ask
throughput and latency at 1, 8 and 32 concurrent clients against a real uvicorn
server (see `ui.bench.http`), and peak RSS; then ratios ours / tutorial.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from index.embed import Embedder
from index.errors import PolicyQAError
from index.policy import load_policy, parse_policy
from index.store import build_index, save_index
from qa.evaluation.data import load_policyqa, load_questions
from qa.evaluation.systems import TutorialSystem
from qa.service import Service
from qa.settings import Settings, create_embedder
from ui.bench.notes import NOTES
from ui.bench.stats import distinct as distinct_questions
from ui.bench.stats import percentiles

FIRST_QUESTION = "How do you protect my information?"
Note = Callable[[str], None]

# VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child would report the
# peak of the (large) bench process it was forked from.
COLD_START = """
import json, re, sys, time
started = time.perf_counter()
{setup}
ask({question!r})
seconds = time.perf_counter() - started
status = open("/proc/self/status").read()
print(json.dumps({{"in_process_s": seconds,
                   "rss_mb": int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024}}))
"""
OURS_SETUP = ("from qa.service import Service\nfrom qa.settings import load_settings\n"
              "ask = Service(load_settings(index=sys.argv[1])).ask")
TUTORIAL_SETUP = ("from pathlib import Path\nfrom index.embed import Embedder\n"
                  "from qa.evaluation.systems import TutorialSystem\n"
                  "system = TutorialSystem.load(Path(sys.argv[1]), Embedder(sys.argv[2]))\n"
                  "ask = lambda q: system.answer_many([q])")


@dataclass(frozen=True)
class BenchOptions:
    out: Path = Path("reports/bench.json")
    policyqa: Path | None = None
    questions: int = 500
    quick: bool = False
    question_sets: tuple[Path, ...] = ()
    clients: tuple[int, ...] = (1, 8, 32)
    idle_seconds: float = 60.0
    growth_sizes: tuple[int, ...] = (1, 10, 100)
    growth_questions: int = 30

    @property
    def n_questions(self) -> int:
        return min(self.questions, 40) if self.quick else self.questions

    def quickened(self) -> BenchOptions:
        """--quick: a short idle window and small growth sizes."""
        if not self.quick:
            return self
        return replace(self, idle_seconds=min(self.idle_seconds, 3.0), growth_sizes=(1, 2),
                       growth_questions=min(self.growth_questions, 3))


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def question_cycle(sets: Sequence[Path], n: int) -> list[str]:
    """n questions, cycling through the labelled sets."""
    missing = [str(p) for p in sets if not Path(p).is_file()]
    if missing or not sets:
        raise PolicyQAError(f"labelled question set not found: {', '.join(missing) or 'none given'}"
                            " (pass --question-set FILE)")
    texts = [q.text for path in sets for q in load_questions(path)]
    return list(itertools.islice(itertools.cycle(texts), n))


def latency(ask: Callable[[str], Any], questions: Sequence[str]) -> dict[str, float]:
    """One question at a time, as a visitor asks. Also CPU time per answer (all threads
    of this process), which other load on a shared machine barely changes."""
    times = []
    cpu = time.process_time()
    for question in questions:
        _, seconds = _timed(lambda q=question: ask(q))
        times.append(seconds)
    cpu_ms = (time.process_time() - cpu) * 1000 / max(1, len(questions))
    return {**percentiles(times), "cpu_ms_per_answer": round(cpu_ms, 3)}


def cold_start(setup: str, args: Sequence[str]) -> dict[str, float]:
    """Wall time of a fresh interpreter from spawn to its first answer (and exit)."""
    script = COLD_START.format(setup=setup, question=FIRST_QUESTION)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, env=env, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PolicyQAError(f"cold-start process failed: {tail}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": round(wall, 3), "in_process_s": round(child["in_process_s"], 3),
            "rss_mb": round(child["rss_mb"], 1)}


def build_policyqa(path: Path, embedder: Embedder, quick: bool) -> dict[str, Any]:
    docs = load_policyqa(path)
    docs = docs[:2] if quick else docs
    ours = tutorial = 0.0
    for doc in docs:
        index, seconds = _timed(lambda d=doc: build_index(parse_policy(d.text, name=d.title),
                                                          embedder))
        ours += seconds
        tutorial += _timed(lambda i=index: TutorialSystem.build(i, embedder))[1]
    return {"policies": len(docs), "paragraphs": sum(len(d.paragraphs) for d in docs),
            "ours_s": round(ours, 3), "tutorial_s": round(tutorial, 3)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    build, cold, lat, rss = (result["build"], result["cold_start"], result["latency"],
                             result["rss_mb"])
    out = {"build_korero": _ratio(build["korero"]["ours_s"], build["korero"]["tutorial_s"])}
    if build.get("policyqa"):
        out["build_policyqa"] = _ratio(build["policyqa"]["ours_s"],
                                       build["policyqa"]["tutorial_s"])
    out["cold_start"] = _ratio(cold["ours"]["seconds"], cold["tutorial"]["seconds"])
    for p in ("p50_ms", "p95_ms", "p99_ms"):
        out[f"latency_{p}"] = _ratio(lat["ours_uncached"][p], lat["tutorial"][p])
    out["rss"] = _ratio(rss["ours"], rss["tutorial"])
    out["cpu_per_answer"] = _ratio(lat["ours_uncached"]["cpu_ms_per_answer"],
                                   lat["tutorial"]["cpu_ms_per_answer"])
    return out


class Stages:
    """Wall time of each stage of the run (reported, and shown as progress)."""

    def __init__(self, note: Note) -> None:
        self.note = note
        self.seconds: dict[str, float] = {}
        self._name, self._started = "", time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self._name:
            self.seconds[self._name] = round(now - self._started, 2)
        self._name, self._started = name, now
        if name:
            self.note(name)


def run_bench(options: BenchOptions, settings: Settings, note: Note = lambda s: None
              ) -> dict[str, Any]:
    """Every measurement; writes options.out (JSON) and returns the result."""
    from ui.bench.growth import growth
    from ui.bench.http import http_bench
    from ui.bench.serving import answering_batched, cpu_budget, encoder_rates, serving_ratios

    options = options.quickened()
    stage = Stages(note)
    stage("model load")
    questions = question_cycle(options.question_sets, options.n_questions)
    embedder = Embedder(settings.model)
    _, model_s = _timed(embedder.warm_up)
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "model": embedder.id, "model_load_s": round(model_s, 3), "quick": options.quick,
        "questions": len(questions), "distinct_questions": len(set(questions)),
    }
    with tempfile.TemporaryDirectory(prefix="policy-qa-bench-") as tmp:
        stage("build Korero index")
        policy = load_policy(settings.policy)
        index, ours_build = _timed(lambda: build_index(policy, embedder))
        tutorial, tutorial_build = _timed(lambda: TutorialSystem.build(index, embedder))
        index_dir = save_index(index, Path(tmp) / "index")
        tutorial.save(Path(tmp) / "tutorial")
        result["build"] = {"korero": {
            "ours_s": round(ours_build, 3), "tutorial_s": round(tutorial_build, 3),
            "ours_units": len(index.units), "tutorial_chunks": len(tutorial.texts)}}
        if options.policyqa:
            stage("build PolicyQA indexes")
            result["build"]["policyqa"] = build_policyqa(options.policyqa, embedder,
                                                         options.quick)
        stage("cold start")
        result["cold_start"] = {
            "ours": cold_start(OURS_SETUP, [str(index_dir)]),
            "tutorial": cold_start(TUTORIAL_SETUP, [str(Path(tmp) / "tutorial"), embedder.id]),
        }
        stage("in-process latency")
        base = settings.replace(index=index_dir)
        uncached = Service(base.replace(cache_size=0), index=index, embedder=embedder)
        cached = Service(base.replace(cache_size=max(1024, len(set(questions)))),
                         index=index, embedder=embedder)
        uncached.warm_up()
        cached.ask_many(list(dict.fromkeys(questions)))  # every question seen once
        result["latency"] = {
            "ours_uncached": latency(uncached.ask, questions),
            "ours_cached": latency(cached.ask, questions),
            "tutorial": latency(lambda q: tutorial.answer_many([q]), questions),
        }
        result["rss_mb"] = {
            "ours": result["cold_start"]["ours"]["rss_mb"],
            "tutorial": result["cold_start"]["tutorial"]["rss_mb"],
            "bench_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        stage("raw encoder")
        distinct = list(dict.fromkeys(questions)) * 2
        result["encoder"] = encoder_rates(embedder, distinct)  # the reference: torch
        configured = create_embedder(settings).warm_up()
        on_it = uncached
        if configured.engine != "torch":  # what the server runs, measured the same way
            result["encoder_configured"] = {"encoder": configured.engine,
                                            **encoder_rates(configured, distinct)}
            # the server's answering path without HTTP: what splits its 1-client p50
            on_it = Service(base.replace(cache_size=0), index=index, embedder=configured)
            on_it.warm_up()
            result["latency"]["ours_configured"] = latency(
                on_it.ask, distinct_questions(questions, len(questions), "ref1"))
        # and in batches, as under load: what splits the server's CPU per answer
        result["answering_batched"] = answering_batched(
            on_it.ask_many, distinct_questions(questions, max(64, len(questions)), "bat"),
            lanes=on_it.embedder.lanes_for(base.lanes))  # as many as the server's
        stage("http")
        result["http"] = http_bench(base, index_dir, questions, options.clients,
                                    Path(tmp), options.quick, options.idle_seconds)
        if options.policyqa:
            stage("growth")
            result["growth"] = growth(options.policyqa, embedder, base,
                                      options.growth_sizes, options.growth_questions)
        if result["http"].get("server_rss_mb") is not None:
            result["rss_mb"]["server"] = result["http"]["server_rss_mb"]
    stage("")
    result["stages_s"] = stage.seconds
    result["ratios"] = ratios(result)
    if "skipped" not in result["http"]:
        result["serving"] = serving_ratios(result["http"], result["encoder"])
        if "encoder_configured" in result:
            result["serving_vs_configured"] = serving_ratios(
                result["http"], result["encoder_configured"],
                result["latency"].get("ours_configured"))
        result["cpu_budget"] = cpu_budget(
            result["http"], result.get("encoder_configured") or result["encoder"],
            result.get("answering_batched"), len(os.sched_getaffinity(0)))
    result["notes"] = list(NOTES)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    result["out"] = str(options.out)
    return result
