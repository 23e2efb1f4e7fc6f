"""Does tuning the embedding model on other policies' labelled questions help a policy
it never saw? Leave one policy out (issue 14, tried and not shipped).

For each of the five labelled policies P: `policy-qa tune` on the other four's labelled
sets (Korero's dev/train/calib sets, never its test set; unanswerable questions pushed
away from their nearest passages as `tune` does), then P's set is asked of the packaged
model and of the tuned one, with the shipped fusion weights. The Subscription notice's set
is measured with a model tuned on all five. Prints hit@1 and hit@3 of both and the
tuned-minus-packaged difference with its paired 95% interval
(qa/evaluation/uncertainty.py).

Retrieval only: the answerability decision's weights were fitted on the packaged
model's embeddings (its question prior is a function of them), so a tuned model's
resolved/unresolved figures say nothing until the decision is refitted for it.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
        .venv/bin/python scripts/cross_policy_tune.py [WORK]

Models are written to WORK (default /tmp/cross-policy-tune) and reused when present.
About 3 minutes of tuning per model on 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from answerability_lopo import DATA, POLICIES  # noqa: E402
from retrieval_lopo import CHECK  # noqa: E402

from qa.evaluation.run import EvalOptions, evaluate  # noqa: E402
from qa.evaluation.uncertainty import paired_difference  # noqa: E402
from qa.settings import Settings, create_embedder  # noqa: E402

TUNE_FLAGS = ["--epochs", "2", "--batch-size", "16", "--force"]


def sources(names: list[str]) -> list[str]:
    out = []
    for name in names:
        policy, fit, measured = POLICIES[name]
        out += [f"{DATA / f'{s}.jsonl'}::{policy}" for s in fit or [measured]]
    return out


def tuned_model(work: Path, held: str) -> Path:
    out = work / f"model-without-{held}"
    if not (out / "tune.json").exists():
        train = [p for p in POLICIES if p != held]
        cmd = [str(Path(sys.executable).parent / "policy-qa"), "tune", "--out", str(out),
               *TUNE_FLAGS, *sources(train)]
        print(f"tuning without {held} ...", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def ask(model: str, questions: Path, policy: Path, out: Path) -> dict:
    settings = Settings(model=model)
    return evaluate(EvalOptions(questions, policy=policy, out=out), settings,
                    create_embedder(settings))


def main() -> int:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cross-policy-tune")
    work.mkdir(parents=True, exist_ok=True)
    cases = [(name, POLICIES[name][0], DATA / f"{POLICIES[name][2]}.jsonl", name)
             for name in POLICIES]
    cases.append((CHECK[0], CHECK[1], DATA / f"{CHECK[2]}.jsonl", "none"))
    print(f"{'measured':18s} {'tuned without':14s} {'packaged hit@1/hit@3':>21s} "
          f"{'tuned':>12s}   tuned - packaged hit@1 [95%]   hit@3 [95%]")
    for name, policy, questions, held in cases:
        model = tuned_model(work, held)
        base = ask(Settings().model, questions, policy, work / f"eval-{name}-packaged")
        tuned = ask(str(model), questions, policy, work / f"eval-{name}-tuned")
        a, b = tuned["per_question"]["ours"], base["per_question"]["ours"]
        d1, d3 = (paired_difference(a, b, m) for m in ("hit@1", "hit@3"))
        print(f"{name:18s} {held:14s} {base['hit@1']:>10.3f} / {base['hit@3']:.3f} "
              f"{tuned['hit@1']:>6.3f} / {tuned['hit@3']:.3f}   "
              f"{d1['difference']:+.3f} [{d1['low']:+.3f}, {d1['high']:+.3f}]"
              f"   {d3['difference']:+.3f} [{d3['low']:+.3f}, {d3['high']:+.3f}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
