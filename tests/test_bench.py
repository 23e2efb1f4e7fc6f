"""`policy-qa bench --quick` on a tiny policy: every figure is in the JSON and the
table prints. No timing assertions: speed belongs in the bench, not in tests."""

from __future__ import annotations

import json
import os

import pytest
from test_evaluate import POLICY, QUESTIONS

from ui.bench.run import percentiles
from ui.bench.serving import cpu_budget
from ui.cli.main import main


def test_percentiles_are_nearest_rank_in_milliseconds():
    stats = percentiles([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert stats == {"n": 100, "p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0,
                     "mean_ms": 50.5}
    assert percentiles([0.002])["p99_ms"] == 2.0
    assert percentiles([]) == {"n": 0}


def test_distinct_questions_are_all_different_and_reuse_a_few_words():
    from ui.bench.stats import WORDS, distinct, numbered

    questions = ["Do you sell my data?", "How long do you keep it?", "Do you sell my data?"]
    out = distinct(questions, 900, "ref")
    assert len(set(out)) == 900  # no cache hit, though a question repeats in the input
    assert out[0] == "Do you sell my data? (ref amber amber amber)"
    suffixes = {w for q in out for w in q.rsplit("(", 1)[1].rstrip(")").split()[1:]}
    assert suffixes <= set(WORDS)  # words a server learns once
    assert len(set(numbered(questions, 50, "new"))) == 50
    with pytest.raises(ValueError, match="at most"):
        distinct(questions, 2 * len(WORDS) ** 3 + 1, "ref")


@pytest.mark.slow
def test_bench_quick_writes_every_figure(tmp_path, monkeypatch, capsys, embedder):
    policy = tmp_path / "policy.md"
    policy.write_text(POLICY, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    pqa = tmp_path / "pq.json"
    pqa.write_text(json.dumps({"data": [{"title": "example.com", "paragraphs": [
        {"index": 0, "context": "We never sell your data to anyone at all.",
         "qas": [{"question": "Do they sell data?", "id": "1",
                  "answers": [{"text": "never sell", "answer_start": 3}]}]}]}]}))
    monkeypatch.setenv("POLICY_QA_POLICY", str(policy))
    out = tmp_path / "bench.json"
    code = main(["bench", "--quick", "--questions", "10", "--question-set", str(questions),
                 "--policyqa", str(pqa), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "cold start to first answer" in printed and "/api/ask" in printed
    result = json.loads(out.read_text())
    assert set(result["build"]) == {"korero", "policyqa"}
    assert {"ours_s", "tutorial_s"} <= set(result["build"]["korero"])
    assert result["build"]["policyqa"]["policies"] == 1
    for system in ("ours", "tutorial"):
        assert result["cold_start"][system]["seconds"] > 0
        assert result["rss_mb"][system] > 0
    for kind in ("ours_uncached", "ours_cached", "tutorial"):
        assert {"p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_answer"} <= set(result["latency"][kind])
        assert result["latency"][kind]["n"] == 10
    assert {"build_korero", "build_policyqa", "cold_start", "latency_p50_ms",
            "latency_p95_ms", "latency_p99_ms", "rss", "cpu_per_answer"} <= set(result["ratios"])
    http = result["http"]
    if "skipped" not in http:
        assert set(http["unique"]) == {"1", "8", "32"}
        assert set(http["new_word"]) == {"32"}
        for run in [*http["unique"].values(), *http["new_word"].values(),
                    *http["repeated"].values()]:
            assert run["errors"] == 0, run["statuses"]
            assert run["throughput_rps"] > 0 and run["p99_ms"] >= run["p50_ms"]
            assert "server_cpu_ms_per_answer" in run
            assert run["client_cpu_ms_per_request"] > 0  # the client threads' own CPU
        assert http["ready_s"] > 0 and http["stack_s"] > 0
        for window in ("idle", "idle_after_load"):
            assert http[window]["seconds"] >= 2.5 and http[window]["pct_of_core"] >= 0
            assert all(ms > 0 for ms in http[window]["threads_ms"].values())
        serving = result["serving"]
        names = {"throughput_32_vs_encoder", "p50_1_vs_one_embedding", "idle_cpu_pct_of_core",
                 "cold_start_vs_stack"}
        assert names <= set(serving) and set(serving["met"]) == names
        assert all(isinstance(serving[n], float) and serving[n] >= 0 for n in names)
        assert "idle server CPU, % of a core" in printed
        assert serving["idle_cpu_pct_of_core"] == max(http["idle"]["pct_of_core"],
                                                      http["idle_after_load"]["pct_of_core"])
        assert "idle after the load:" in printed
        if "encoder_configured" in result:  # the server's own encoder, without HTTP
            assert result["latency"]["ours_configured"]["n"] == 10
            split = result["serving_vs_configured"]
            assert split["in_process_p50_vs_one_embedding"] > 0
            assert split["http_p50_vs_in_process"] > 0
            assert split["in_process_p50_vs_one_embedding"] * split[
                "http_p50_vs_in_process"] == pytest.approx(
                    split["p50_1_vs_one_embedding"], rel=0.01)
            assert "= answering in-process, p50 / one raw query embedding" in printed
        budget = result["cpu_budget"]  # one answer's CPU, split, and the bound it sets
        assert budget["model_ms"] > 0 and budget["client_ms"] > 0
        assert budget["server_ms"] == http["unique"]["32"]["server_cpu_ms_per_answer"]
        assert budget["model_ms"] + budget["answering_beyond_model_ms"] == pytest.approx(
            result["answering_batched"]["cpu_ms_per_answer"], abs=0.002)
        assert budget["ceiling_vs_encoder"] > 0
        assert (budget["ceiling_vs_encoder"] <= budget["model_only_ceiling_vs_encoder"]) == (
            budget["server_ms"] >= budget["model_ms"])
        assert "the load client (same cores)" in printed
    encoder = result["encoder"]
    assert encoder["batch"] == 32 and encoder["batched_per_s"] > 0
    assert encoder["batched_cpu_ms_per_query"] > 0
    assert result["answering_batched"]["answers"] >= 64
    assert encoder["one_query_p50_ms"] > 0
    growth = result["growth"]["sizes"]
    assert set(growth) == {"1", "2"}
    one, two = growth["1"], growth["2"]
    assert two["units"] == 2 * one["units"] and two["copies"] == 1  # a copy of the one policy
    assert two["build_s_estimated"] and not one["build_s_estimated"]
    for run in (one, two):
        assert run["index"] == "exact" and run["latency"]["n"] == 3 and run["build_s"] > 0
        assert 0.0 <= run["hnsw_recall_at_10"] <= 1.0
    assert "HNSW recall@10" in printed


@pytest.mark.parametrize("args, message", [
    (["--questions", "0"], "--questions must be at least 1"),
    (["--policyqa", "nowhere.json"], "PolicyQA file not found: nowhere.json"),
    (["--idle-seconds", "0"], "--idle-seconds must be above 0"),
])
def test_bench_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_idle_cpu_names_the_threads_that_used_it() -> None:
    import threading

    from qa.threads import name_os_thread
    from ui.bench.serving import idle_cpu

    stop = threading.Event()

    def spin() -> None:
        assert name_os_thread() == "pqa-spinner"  # "policy-qa-" shortened: 15 bytes
        while not stop.is_set():
            sum(range(1000))

    busy = threading.Thread(target=spin, name="policy-qa-spinner")
    busy.start()
    try:
        idle = idle_cpu(os.getpid(), 0.5)
    finally:
        stop.set()
        busy.join()
    assert idle["pct_of_core"] > 20  # a spinning thread is not idle
    assert next(iter(idle["threads_ms"])) == "pqa-spinner"  # the busiest first


def test_cpu_budget_splits_an_answer_and_bounds_the_throughput_ratio() -> None:
    http = {"unique": {"1": {"clients": 1, "server_cpu_ms_per_answer": 9.0,
                             "client_cpu_ms_per_request": 1.0, "throughput_rps": 100.0},
                       "32": {"clients": 32, "server_cpu_ms_per_answer": 3.0,
                              "client_cpu_ms_per_request": 1.0, "throughput_rps": 400.0}}}
    encoder = {"batched_cpu_ms_per_query": 2.0, "batched_per_s": 1000.0}
    budget = cpu_budget(http, encoder, {"cpu_ms_per_answer": 2.5}, cores=2)
    assert budget is not None and budget["clients"] == 32  # the most clients' run
    assert budget["answering_beyond_model_ms"] == 0.5 and budget["http_and_web_ms"] == 0.5
    # 2 cores at 4 ms of CPU per answer (server 3 + client 1): at most 500/s = 0.5 x 1000/s
    assert budget["ceiling_vs_encoder"] == 0.5
    assert budget["model_only_ceiling_vs_encoder"] == round(2000 / 3.0 / 1000, 3)
    assert budget["cores_busy"] == 1.6  # 400 answers/s x 4 ms
    assert cpu_budget(http, {"batched_per_s": 1000.0}, None, cores=2) is None
