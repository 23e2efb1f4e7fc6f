"""Issue 14 item 3 on PolicyQA dev: does `policy-qa adapt` (the policy's own sentences,
no labels) lift retrieval on 20 website policies nobody here labelled? For each
policy: rebuild it as `policy-qa eval --format policyqa` does, adapt the packaged model
to it (--force, so every policy is measured whatever its gate says; the gate's verdict
is counted), then score its questions by the location rule with the packaged and the
adapted model. The PolicyQA questions are read only for scoring.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python scripts/adapt_policyqa.py [POLICYQA_JSON] [WORK]
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

from index.embed import Embedder
from qa.evaluation.data import load_policyqa
from qa.evaluation.run import run_policyqa
from qa.evaluation.score import SystemRun, score_run
from qa.settings import Settings
from ui.cli.main import main as cli

ROOT = Path(__file__).resolve().parents[1]


def adapt(policy: Path, out: Path) -> str:
    """Adapt with --force; the gate's verdict ("passed" or why it refused)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        code = cli(["adapt", str(policy), "--out", str(out), "--force"])
    if code != 0:
        return f"failed (exit {code})"
    wrote = [line for line in printed.getvalue().splitlines() if line.startswith("wrote")]
    return "refused" if wrote and "because of --force" in wrote[0] else "passed"


def main(argv: list[str]) -> int:
    data = Path(argv[0]) if argv else ROOT.parent / "shared" / "data" / "policyqa-dev.json"
    work = Path(argv[1]) if len(argv) > 1 else ROOT / "reports" / "adapt-policyqa"
    work.mkdir(parents=True, exist_ok=True)
    settings, packaged = Settings(), Embedder()
    runs = {"packaged": SystemRun("ours"), "adapted": SystemRun("ours"),
            "adapted, gate passed only": SystemRun("ours")}
    gates: list[str] = []
    started = time.monotonic()
    for n, doc in enumerate(load_policyqa(data)):
        policy, model = work / f"policy-{n}.md", work / f"model-{n}"
        policy.write_text(doc.text, encoding="utf-8")
        gates.append(adapt(policy, model))
        written = (model / "modules.json").is_file()  # a run that changes nothing writes none
        adapted = Embedder(str(model)) if written else packaged
        for name, embedder in (("packaged", packaged), ("adapted", adapted)):
            run = run_policyqa([doc], embedder, settings, False, lambda _: None)["ours"]
            runs[name].extend(run.questions, run.answers, run.reading)
            if name == ("adapted" if gates[-1] == "passed" else "packaged"):
                runs["adapted, gate passed only"].extend(run.questions, run.answers,
                                                         run.reading)
        print(f"{n + 1:2d} {doc.title[:40]:40s} {len(doc.questions):4d} questions, "
              f"gate {gates[-1]}", flush=True)
    print(f"\n{len(gates)} policies, gate passed on {gates.count('passed')}, "
          f"{time.monotonic() - started:.0f} s")
    for name, run in runs.items():
        scores, _ = score_run(run, None, "none")
        print(f"{name:28s} hit@1 {scores['hit@1']:.3f}  hit@3 {scores['hit@3']:.3f}  "
              f"hit@5 {scores['hit@5']:.3f}  MRR {scores['mrr']:.3f}  "
              f"({len(run.questions)} questions)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
