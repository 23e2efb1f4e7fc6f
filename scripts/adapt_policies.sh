#!/usr/bin/env bash
# Issue 14 item 3: does `policy-qa adapt` (tuning on the policy's own headings and
# sentences, no labels) lift the held-out figures? For each labelled policy: adapt the
# packaged model to the policy (--force, so it is measured whether or not its gate
# passes; the gate's verdict is printed), then `policy-qa eval` the labelled set with
# the packaged and the adapted model. The labelled sets are read only by eval.
# Usage: bash scripts/adapt_policies.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false GRADIO_ANALYTICS_ENABLED=False
export POLICY_QA_CONFIG=
PQA=${PQA:-.venv/bin/policy-qa}
WORK=${1:-reports/adapt-policies}
SHARED=${SHARED:-../shared}
mkdir -p "$WORK"
while read -r name questions policy; do
  policy=${policy/#SHARED\//$SHARED/}  # the one policy kept in ../shared
  [ -f "$policy" ] || { echo "$name: $policy not found, skipped"; continue; }
  rm -rf "${WORK:?}/$name-model"
  gate=$($PQA adapt "$policy" --out "$WORK/$name-model" --force 2>/dev/null | grep '^wrote' \
         | sed 's/.*(\(.*\)).*/\1/')
  for model in "" "$WORK/$name-model"; do
    POLICY_QA_MODEL=$model $PQA eval "tests/data/$questions" --policy "$policy" --json \
        > "$WORK/$name-$([ -n "$model" ] && echo adapted || echo packaged).json" 2>/dev/null
  done
  python3 - "$name" "$WORK/$name-packaged.json" "$WORK/$name-adapted.json" "$gate" <<'PY'
import json, sys
name, packaged, adapted, gate = sys.argv[1:]
def cells(path):
    r = json.load(open(path))
    return (f"hit@1 {r['hit@1']:.3f} hit@3 {r['hit@3']:.3f} AR {r['answerable_resolved']:.3f} "
            f"UU {r['unanswerable_unresolved']:.3f} ({r['decision']['method']})")
print(f"{name:18s} packaged {cells(packaged)}")
print(f"{'':18s} adapted  {cells(adapted)}  gate: {gate}")
PY
done < scripts/labelled-policies.txt
