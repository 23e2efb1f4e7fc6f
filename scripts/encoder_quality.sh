#!/usr/bin/env bash
# Issue 15: does running the model on ONNX Runtime (POLICY_QA_ENCODER=onnx, onnx-int8) or
# OpenVINO (openvino, openvino-bf16) keep retrieval and the resolved/unresolved decision?
# `policy-qa eval` on every labelled policy with each encoder (the index is built by the
# same encoder), printing hit@1, hit@3 and the balanced accuracy of the default decision.
# Usage: [ENCODERS="torch openvino-bf16"] bash scripts/encoder_quality.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false GRADIO_ANALYTICS_ENABLED=False
export POLICY_QA_CONFIG= POLICY_QA_MODEL=
PQA=${PQA:-.venv/bin/policy-qa}
OUT=${1:-reports/encoder-quality}
SHARED=${SHARED:-../shared}
ENCODERS=${ENCODERS:-torch onnx onnx-int8 openvino openvino-bf16}
mkdir -p "$OUT"
while read -r name questions policy; do
  policy=${policy/#SHARED\//$SHARED/}  # the one policy kept in ../shared
  [ -f "$policy" ] || { echo "$name: $policy not found, skipped"; continue; }
  for encoder in $ENCODERS; do
    POLICY_QA_ENCODER=$encoder $PQA eval "tests/data/$questions" --policy "$policy" --json \
        > "$OUT/$name-$encoder.json" 2>/dev/null
  done
  python3 - "$name" "$OUT" $ENCODERS <<'PY'
import json, sys
name, out, *encoders = sys.argv[1:]
cells = []
for encoder in encoders:
    r = json.load(open(f"{out}/{name}-{encoder}.json"))
    cells.append(f"{encoder} {r['hit@1']:.3f}/{r['hit@3']:.3f}/{r['balanced_accuracy']:.3f}")
print(f"{name:18s} hit@1/hit@3/BA: " + " | ".join(cells))
PY
done < scripts/labelled-policies.txt
