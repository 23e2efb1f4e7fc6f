"""`policy-qa adapt POLICY --out DIR`: tune the embedding model on what the policy itself
provides, with no labelled questions (see `qa.tuning.selfpairs`), written only when it
passes `tune`'s gate on a held-out fifth of those pairs and the shipped bank's
unanswerable questions.

Exit codes as `policy-qa tune`: 0 written; 1 not better, not written; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "adapt", help="tune the model on the policy's own headings and sentences (no labels)",
        description="Fine-tune the embedding model on pairs the policy provides itself: "
                    "section titles phrased as questions and each sentence -> its passage. "
                    "Written only if retrieval of a held-out fifth of them improves (hit@3, "
                    "or MRR at equal hit@3) and the balanced accuracy against the shipped "
                    "bank's unanswerable questions does not fall.")
    parser.add_argument("policy", type=Path, metavar="POLICY", help="the policy file")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR",
                        help="folder for the adapted model (and its tune.json)")
    parser.add_argument("--base", default="all-MiniLM-L6-v2", metavar="NAME_OR_PATH",
                        help="model to start from (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--epochs", type=int, default=1, help="default 1")
    parser.add_argument("--learning-rate", type=float, default=5e-5, metavar="LR",
                        help="default 5e-5")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="default 32")
    parser.add_argument("--seed", type=int, default=42, help="default 42")
    parser.add_argument("--max-minutes", type=float, metavar="M",
                        help="stop training after M minutes, keeping the best model so far")
    parser.add_argument("--force", action="store_true",
                        help="write the model even if the held-out check says it is worse")
    parser.set_defaults(handler=cmd_adapt)


def cmd_adapt(args: argparse.Namespace, settings: Any) -> int:
    from qa.tuning.run import TuneConfig, tune
    from qa.tuning.selfpairs import self_split
    from ui.cli.tune import finish

    config = TuneConfig(sources=(), out=args.out, base=args.base, epochs=args.epochs,
                        learning_rate=args.learning_rate, batch_size=args.batch_size,
                        seed=args.seed, policy=args.policy, max_minutes=args.max_minutes,
                        force=args.force, negatives=0, progress=sys.stderr.isatty())
    result = tune(config, say=lambda m: print(m, flush=True),
                  warn=lambda m: print(m, file=sys.stderr, flush=True),
                  given=self_split(args.policy, args.seed))
    return finish(result, args.out)
