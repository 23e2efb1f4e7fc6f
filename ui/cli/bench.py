"""`policy-qa bench`: build time, cold start, latency, HTTP throughput and memory of
ours next to the tutorial pipeline; prints a table and writes JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError
from qa.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="benchmark speed and memory (ours vs the tutorial pipeline)")
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"),
                        help="JSON file to write (default reports/bench.json)")
    parser.add_argument("--policyqa", type=Path,
                        help="PolicyQA/SQuAD JSON: also time indexing all of its policies")
    parser.add_argument("--questions", type=int, default=500,
                        help="questions for the latency and load runs (default 500)")
    parser.add_argument("--question-set", type=Path, action="append", metavar="FILE",
                        help="labelled JSON Lines set to cycle (repeatable), e.g. "
                             "tests/data/korero-questions.jsonl")
    parser.add_argument("--quick", action="store_true",
                        help="a small run (40 questions, 2 PolicyQA policies) for smoke tests")
    parser.add_argument("--idle-seconds", type=float, default=60.0,
                        help="how long to watch the idle server's CPU (default 60)")
    parser.set_defaults(handler=cmd_bench)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(result: dict[str, Any]) -> str:
    build, cold, lat = result["build"], result["cold_start"], result["latency"]
    rss, ratio = result["rss_mb"], result["ratios"]
    rows = [("index build, Korero (s)", build["korero"]["ours_s"],
             build["korero"]["tutorial_s"], ratio["build_korero"])]
    if build.get("policyqa"):
        pq = build["policyqa"]
        rows.append((f"index build, {pq['policies']} PolicyQA policies (s)", pq["ours_s"],
                     pq["tutorial_s"], ratio.get("build_policyqa")))
    rows.append(("cold start to first answer (s)", cold["ours"]["seconds"],
                 cold["tutorial"]["seconds"], ratio["cold_start"]))
    for p in ("p50_ms", "p95_ms", "p99_ms"):
        rows.append((f"answer latency {p[:3]}, no cache (ms)", lat["ours_uncached"][p],
                     lat["tutorial"][p], ratio[f"latency_{p}"]))
    rows.append(("CPU per answer, no cache (ms)", lat["ours_uncached"]["cpu_ms_per_answer"],
                 lat["tutorial"]["cpu_ms_per_answer"], ratio.get("cpu_per_answer")))
    rows.append(("answer latency p50, cached (ms)", lat["ours_cached"]["p50_ms"], None, None))
    rows.append(("peak RSS after first answer (MB)", rss["ours"], rss["tutorial"], ratio["rss"]))
    if "server" in rss:
        rows.append(("peak RSS of the server (MB)", rss["server"], None, None))
    head = ("", "ours", "tutorial", "ours/tutorial")
    lines = [head] + [(r[0], _num(r[1]), _num(r[2]), _num(r[3])) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(line, widths, strict=True)))
           for line in lines]
    out += ["", *http_lines(result["http"]), *serving_lines(result),
            *growth_lines(result.get("growth")), "",
            f"{result['questions']} questions ({result['distinct_questions']} distinct), "
            f"model {result['model']}, {result['machine']['cpus']} CPUs"]
    return "\n".join(out)


def http_lines(http: dict[str, Any]) -> list[str]:
    if "skipped" in http:
        return [f"/api/ask: skipped ({http['skipped']})"]
    lines = ["/api/ask on loopback   clients  requests  errors  answers/s  p50 ms  p99 ms"
             "  server CPU ms/answer"]
    for kind in ("unique", "new_word", "repeated"):
        for run in http.get(kind, {}).values():
            lines.append(f"  {kind:<20} {run['clients']:>7}  {run['requests']:>8}  "
                         f"{run['errors']:>6}  {_num(run['throughput_rps'], 1):>9}  "
                         f"{_num(run['p50_ms'], 1):>6}  {_num(run['p99_ms'], 1):>6}  "
                         f"{_num(run.get('server_cpu_ms_per_answer'), 1):>20}")
    return lines


def serving_lines(result: dict[str, Any]) -> list[str]:
    lines = _serving_table(result, result.get("serving"), result.get("encoder") or {},
                           "serving (same run), raw encoder: torch")
    configured = result.get("encoder_configured")
    if configured:
        lines += _serving_table(result, result.get("serving_vs_configured"), configured,
                                f"serving, raw encoder: {configured['encoder']} (the server's)")
    return [*lines, *budget_lines(result.get("cpu_budget"))]


def budget_lines(budget: dict[str, Any] | None) -> list[str]:
    """One answer's CPU at the most clients, and the throughput ratio it allows."""
    if not budget:
        return []
    parts = (("the model (raw batched encode, as the server runs it)", "model_ms"),
             ("the rest of the answering path", "answering_beyond_model_ms"),
             ("HTTP and the web stack", "http_and_web_ms"),
             ("the load client (same cores)", "client_ms"))
    return ["", f"CPU per answer at {budget['clients']} clients, server's encoder, "
                f"{budget['cores']} cores ({_num(budget['cores_busy'])} busy)",
            *(f"  {label + ', ms':<60} {_num(budget.get(key)):>7}" for label, key in parts),
            f"  {'answers/s these costs allow (cores / CPU) / encoder rate':<60} "
            f"{_num(budget['ceiling_vs_encoder']):>7}",
            f"  {'  the same, if the server cost only the model':<60} "
            f"{_num(budget['model_only_ceiling_vs_encoder']):>7}"]


def _serving_table(result: dict[str, Any], serving: dict[str, Any] | None,
                   enc: dict[str, Any], title: str) -> list[str]:
    from ui.bench.serving import TARGETS

    if not serving:
        return []
    lanes = (f" x{enc['lanes']}" if enc.get("lanes_per_s") else "")
    rate = enc.get("capacity_per_s") or enc.get("batched_per_s")
    names = {"throughput_32_vs_encoder": "/api/ask answers/s, most clients / raw encoder "
                                         f"batch {enc.get('batch')}{lanes} ({rate}/s)",
             "p50_1_vs_one_embedding": "/api/ask p50, 1 client / one raw query embedding "
                                       f"({enc.get('one_query_p50_ms')} ms)",
             "idle_cpu_pct_of_core": "idle server CPU, % of a core (worse of two windows)",
             "cold_start_vs_stack": "cold start to /healthz / import stack + load model "
                                    f"({result['http'].get('stack_s')} s)"}
    split = {"in_process_p50_vs_one_embedding": "  = answering in-process, p50 / one raw "
                                                "query embedding",
             "http_p50_vs_in_process": "  x /api/ask p50, 1 client / in-process p50"}
    lines = ["", f"{title:<72}   value  target  met"]
    for key, label in names.items():
        op, target = TARGETS[key]
        met = serving["met"].get(key)
        lines.append(f"  {label:<70} {_num(serving.get(key)):>7}  {op}{target:<5} "
                     f"{'-' if met is None else 'yes' if met else 'NO'}")
        if key == "throughput_32_vs_encoder" and serving.get("throughput_32_vs_one_stream"):
            label = f"  the same / batches one at a time ({enc.get('batched_per_s')}/s)"
            lines.append(f"  {label:<70} {_num(serving['throughput_32_vs_one_stream']):>7}")
        if key == "p50_1_vs_one_embedding":  # the two factors of that ratio
            lines += [f"  {split[k]:<70} {_num(serving[k]):>7}" for k in split
                      if serving.get(k) is not None]
    return [*lines, *_idle_lines(result["http"])]


def _idle_lines(http: dict[str, Any]) -> list[str]:
    """Which threads the idle server's CPU went to, in each window."""
    lines = []
    for key, when in (("idle", "after start-up"), ("idle_after_load", "after the load")):
        idle = http.get(key) or {}
        if idle:
            threads = ", ".join(f"{name} {ms} ms" for name, ms in
                                idle.get("threads_ms", {}).items()) or "none"
            lines.append(f"    idle {when}: {_num(idle.get('pct_of_core'))} % over "
                         f"{idle.get('seconds')} s; threads: {threads}")
    return lines


def growth_lines(growth: dict[str, Any] | None) -> list[str]:
    if not growth:
        return []
    lines = ["", "growth  policies  chunks   units  index  build s  load s  p50 ms  p50/1  "
             "HNSW recall@10"]
    for run in growth["sizes"].values():
        est = "*" if run["build_s_estimated"] else " "
        lines.append(f"        {run['policies']:>8}  {run['chunks']:>6}  {run['units']:>6}  "
                     f"{run['index']:>5}  {_num(run['build_s'], 1):>6}{est}  "
                     f"{_num(run['retriever_load_s'], 2):>6}  "
                     f"{_num(run['latency'].get('p50_ms'), 1):>6}  "
                     f"{_num(run['p50_vs_smallest'], 2):>5}  {_num(run['hnsw_recall_at_10']):>14}")
    return [*lines, "  * copies' (or already embedded) units counted at the measured "
                    "per-unit embedding time"]


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from ui.bench.run import BenchOptions, run_bench

    if args.questions < 1:
        raise PolicyQAError(f"--questions must be at least 1. Currently, it is {args.questions}")
    if not args.idle_seconds > 0:
        raise PolicyQAError(f"--idle-seconds must be above 0. Currently, it is "
                            f"{args.idle_seconds}")
    if args.policyqa and not args.policyqa.is_file():
        raise PolicyQAError(f"PolicyQA file not found: {args.policyqa}")
    options = BenchOptions(out=args.out, policyqa=args.policyqa, questions=args.questions,
                           quick=args.quick, idle_seconds=args.idle_seconds,
                           question_sets=tuple(args.question_set or ()))

    def note(message: str) -> None:
        if sys.stderr.isatty():
            print(f"bench: {message}", file=sys.stderr, flush=True)

    result = run_bench(options, settings, note)
    print(table(result))
    print(f"\nwritten: {result['out']}")
    return 0
