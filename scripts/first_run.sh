#!/usr/bin/env bash
# Issue 14's quick first run: seconds from `make run` in a fresh clone (no venv, no
# package caches) to its first answered question on :7860.
# Usage: bash scripts/first_run.sh [REPO] (default: this checkout's repository).
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -- "-$pid" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
git clone -q "$repo" "$work/main"
[ -d "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"
cd "$work/main"
start=$(date +%s.%N)
# no package caches: every wheel is fetched and unpacked as on a new machine
PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1 setsid make run > "$work/run.log" 2>&1 &
pid=$!
ask='{"question": "Do you sell my data?"}'
until curl -sf -m 5 -H 'content-type: application/json' -d "$ask" \
    http://127.0.0.1:7860/api/ask 2>/dev/null | grep -q '"passages"'; do
  kill -0 "$pid" 2>/dev/null || { tail -20 "$work/run.log"; echo "make run stopped"; exit 1; }
  sleep 1
done
end=$(date +%s.%N)
grep -E "^indexed " "$work/run.log" || true
python3 -c "import sys; print(f'first answer {float(sys.argv[2]) - float(sys.argv[1]):.1f} s "\
"after make run in a fresh clone')" "$start" "$end"
