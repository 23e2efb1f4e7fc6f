#!/usr/bin/env bash
# Prints the Mozilla accounts notice's HTML to PDF with Chromium, as a privacy team's site
# would publish it, with cell borders (a one-line style added), for tests/test_pdf_tables.py:
#   bash scripts/print_ruled_pdf.sh  [OUT.pdf]
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=tests/data/policies/mozilla/mozilla_accounts_privacy_notice.html
OUT=${1:-tests/data/policies/mozilla/mozilla_accounts_privacy_notice.ruled.pdf}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
STYLE='<style>table{border-collapse:collapse} th,td{border:1px solid #444;padding:4px;vertical-align:top}</style>'
python3 - "$SRC" "$TMP/ruled.html" "$STYLE" <<'PY'
import sys
src, out, style = sys.argv[1:]
page = open(src, encoding="utf-8").read()
styled = page.replace("</head>", style + "</head>", 1) if "</head>" in page else style + page
open(out, "w", encoding="utf-8").write(styled)
PY
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --no-pdf-header-footer \
  --print-to-pdf="$(realpath -m "$OUT")" "file://$TMP/ruled.html" 2>/dev/null
echo "wrote $OUT"
