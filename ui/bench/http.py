"""The HTTP part of `policy-qa bench`: a real uvicorn server (`ui.web.app.create_app`) in a
subprocess on loopback, loaded by N client threads with keep-alive connections
(stdlib http.client, so the client costs little CPU next to the server)."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError
from qa.settings import Settings
from ui.bench.serving import idle_cpu, stack_start_s
from ui.bench.stats import distinct, numbered, percentiles

# the real `policy-qa serve` (service built and warmed up before it listens)
SERVER = ["-m", "ui.cli.main", "serve", "--host", "127.0.0.1", "--port"]
READY_TIMEOUT_S = 240.0
SETTLE_S = 10.0  # seconds between start-up (or the load) and an idle window
PER_CLIENT = 50  # requests per client, at least, in each load run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, or its current RSS."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import psutil

        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except Exception:  # noqa: BLE001 - the process may be gone; RSS is then unknown
        return None


@contextlib.contextmanager
def server(settings: Settings, index_dir: Path, tmp: Path
           ) -> Iterator[tuple[int, int, float]]:
    """(port, pid, seconds from spawn to /healthz) of a running `policy-qa serve`;
    stopped (and reaped) on exit."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "GRADIO_ANALYTICS_ENABLED": "False", "POLICY_QA_INDEX": str(index_dir),
           "POLICY_QA_OUTBOX": str(tmp / "outbox.sqlite3"),
           "POLICY_QA_MAILDIR": str(tmp / "maildir"),
           "POLICY_QA_ANALYTICS": str(tmp / "analytics.sqlite3"),
           "POLICY_QA_REQUESTS_PER_MINUTE": "100000000",
           "POLICY_QA_CACHE_SIZE": str(settings.cache_size)}
    log = (tmp / "server.log").open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *SERVER, str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, proc, tmp / "server.log")
        yield port, proc.pid, round(time.perf_counter() - started, 3)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise PolicyQAError(f"bench server exited with code {proc.returncode}: {tail}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        time.sleep(0.05)
    raise PolicyQAError(f"bench server did not answer /healthz within {READY_TIMEOUT_S:.0f}s")


def _post(conn: http.client.HTTPConnection, question: str) -> int:
    body = json.dumps({"question": question})
    conn.request("POST", "/api/ask", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status == 200 and "resolved" not in json.loads(data):
        return -1
    return response.status


def _cpu_seconds(pid: int) -> float | None:
    try:
        import psutil

        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    except Exception:  # noqa: BLE001 - psutil missing or the process gone: unknown
        return None


def load(port: int, questions: Sequence[str], clients: int, pid: int | None = None
         ) -> dict[str, Any]:
    """Send every question once, from `clients` threads; latency per request, the
    client threads' own CPU time per request, and the server's CPU time per answer
    when its pid is given."""

    cpu_before = _cpu_seconds(pid) if pid else None

    pending = iter(questions)
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    client_cpu: list[float] = []  # each client thread's own CPU time

    def worker() -> None:
        cpu = time.thread_time()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                question = next(pending, None)
            if question is None:
                break
            started = time.perf_counter()
            try:
                status = str(_post(conn, question))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1
        conn.close()
        with lock:
            client_cpu.append(time.thread_time() - cpu)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    errors = sum(n for status, n in statuses.items() if status != "200")
    stats = percentiles(latencies)
    cpu_after = _cpu_seconds(pid) if pid else None
    client_ms = sum(client_cpu) * 1000 / max(1, len(latencies))
    server_cpu = (round((cpu_after - cpu_before) * 1000 / max(1, len(latencies)), 2)
                  if cpu_before is not None and cpu_after is not None else None)
    return {"clients": clients, "requests": len(latencies), "errors": errors,
            "statuses": dict(statuses), "seconds": round(wall, 3),
            "throughput_rps": round(len(latencies) / wall, 1) if wall else None,
            "p50_ms": stats.get("p50_ms"), "p99_ms": stats.get("p99_ms"),
            "server_cpu_ms_per_answer": server_cpu,
            "client_cpu_ms_per_request": round(client_ms, 3)}


def http_bench(settings: Settings, index_dir: Path, questions: Sequence[str],
               clients: Sequence[int], tmp: Path, quick: bool, idle_seconds: float = 60.0
               ) -> dict[str, Any]:
    if importlib.util.find_spec("ui.web.app") is None:
        return {"skipped": "ui/web/app.py (create_app) is not available"}
    out: dict[str, Any] = {"unique": {}, "repeated": {}, "stack_s": stack_start_s()}
    with server(settings, index_dir, tmp) as (port, pid, ready_s):
        out["ready_s"] = ready_s
        settle = 1.0 if quick else SETTLE_S
        time.sleep(settle)  # start-up's last threads end, then nobody uses it
        out["idle"] = idle_cpu(pid, idle_seconds)
        load(port, questions[:8], 1)  # warm-up: first request paths
        for n in clients:
            # enough requests per client that the ramp-up and the tail (fewer than n
            # requests left in flight) are a small part of the run; every one distinct
            count = max(len(questions), (4 if quick else PER_CLIENT) * n)
            out["unique"][str(n)] = load(port, distinct(questions, count, f"ref{n}"), n, pid)
        top = max(clients)
        count = max(len(questions), (4 if quick else PER_CLIENT) * top)
        out["new_word"] = {str(top): load(port, numbered(questions, count, "new"), top, pid)}
        out["repeated"][str(top)] = load(port, list(questions), top, pid)
        out["server_rss_mb"] = peak_rss_mb(pid)
        time.sleep(settle)  # the last answers' analytics are written; then idle again
        out["idle_after_load"] = idle_cpu(pid, idle_seconds)
    return out
