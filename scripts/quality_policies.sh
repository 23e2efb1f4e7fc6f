#!/usr/bin/env bash
# Issue 14's per-policy table: retrieval (hit@1, hit@3) and the resolved/unresolved
# decision of ours, BM25 and the tutorial pipeline, on each labelled policy with the
# packaged model and default settings. The decision figures of ours here use the
# shipped answerability weights, which were fitted with every one of these sets; the
# held-out (leave-one-policy-out) decision figures come from
# scripts/answerability_lopo.py. Each row of ours is followed by its 95% intervals
# (Wilson; qa/evaluation/uncertainty.py). Usage: bash scripts/quality_policies.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false GRADIO_ANALYTICS_ENABLED=False
PQA=${PQA:-.venv/bin/policy-qa}
OUT=${1:-reports/quality-policies}
SHARED=${SHARED:-../shared}
while read -r name questions policy; do
  policy=${policy/#SHARED\//$SHARED/}  # the one policy kept in ../shared
  [ -f "$policy" ] || { echo "$name: $policy not found, skipped"; continue; }
  for decision in threshold answerability; do
    POLICY_QA_DECISION=$decision $PQA eval "tests/data/$questions" --policy "$policy" \
        --compare --json --out "$OUT/$name-$decision" > "$OUT-$name-$decision.json"
    python3 - "$name" "$decision" "$OUT-$name-$decision.json" <<'PY'
import json, sys
name, decision, path = sys.argv[1:]
r = json.load(open(path))
s = r["systems"]
cells = " ".join(f"{k} {s[k]['hit@1']:.3f}/{s[k]['hit@3']:.3f}" for k in s)
o = s["ours"]
print(f"{name:18s} {decision:13s} ours AR {o['answerable_resolved']:.3f} "
      f"UU {o['unanswerable_unresolved']:.3f} | hit@1/hit@3: {cells}")
ci = o["intervals"]
print(f"{'':32s} ours 95%: " + "  ".join(
    f"{m} [{ci[m]['low']:.2f}, {ci[m]['high']:.2f}] n={ci[m]['n']}"
    for m in ("hit@1", "hit@3", "answerable_resolved", "unanswerable_unresolved")))
PY
  done
done < scripts/labelled-policies.txt
