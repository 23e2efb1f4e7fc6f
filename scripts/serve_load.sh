#!/usr/bin/env bash
# A longer load than `policy-qa bench`'s, for profiling the serving path (issue 15):
# builds the bundled index once, starts the real `policy-qa serve` on a free loopback
# port with POLICY_QA_ENCODER=${1:-auto}, warms it up, then sends 4,000 distinct
# questions (the bench's word suffixes) from 32 clients and prints answers/s, p50 ms,
# the server's CPU ms per answer and the load client's own CPU ms per request.
# PROFILE=1 also records 25 s of py-spy (pip install 'policy-qa[bench]') into
# $WORK/ENCODER.raw (`py-spy record -r 200 -f raw -t`).
# Usage: bash scripts/serve_load.sh [ENCODER]      (WORK defaults to /tmp/policy-qa-load)
set -euo pipefail
cd "$(dirname "$0")/.."
ENCODER=${1:-auto}
WORK=${WORK:-/tmp/policy-qa-load}
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False TOKENIZERS_PARALLELISM=false
export POLICY_QA_MODEL= POLICY_QA_CONFIG= POLICY_QA_ENCODER=$ENCODER
export POLICY_QA_INDEX=$WORK/index POLICY_QA_OUTBOX=$WORK/outbox.sqlite3
export POLICY_QA_MAILDIR=$WORK/maildir POLICY_QA_ANALYTICS=$WORK/analytics.sqlite3
export POLICY_QA_REQUESTS_PER_MINUTE=100000000
mkdir -p "$WORK"
[ -f "$WORK/index/manifest.json" ] || .venv/bin/policy-qa build --out "$WORK/index" >/dev/null 2>&1
PORT=$(.venv/bin/python -c "from ui.bench.http import free_port; print(free_port())")
.venv/bin/policy-qa serve --host 127.0.0.1 --port "$PORT" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.5
done
if [ "${PROFILE:-0}" = 1 ]; then
  (sleep 2; .venv/bin/py-spy record -p "$SERVER" -r 200 -f raw -t -d 25 \
     -o "$WORK/$ENCODER.raw" >/dev/null 2>&1) &
fi
SERVER_PID=$SERVER PORT=$PORT .venv/bin/python - <<'PY'
import json, os
from ui.bench.http import load
from ui.bench.stats import distinct
questions = [json.loads(line)["question"] for line in open("tests/data/korero-questions.jsonl")]
port, pid = int(os.environ["PORT"]), int(os.environ["SERVER_PID"])
load(port, questions[:16], 1)  # warm-up
before = os.times()
out = load(port, distinct(questions, 4000, "load"), 32, pid)
after = os.times()
client = (after.user + after.system - before.user - before.system) * 1000 / 4000
print(f"answers/s {out['throughput_rps']}  p50 ms {out['p50_ms']}  server CPU ms/answer "
      f"{out['server_cpu_ms_per_answer']}  client CPU ms/request {client:.2f}  "
      f"errors {out['errors']}")
PY
wait
