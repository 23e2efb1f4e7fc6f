"""`policy-qa tune`: fine-tune the embedding model on privacy Q&A (see `qa.tuning.run`).

Exit codes: 0 the model was written; 1 it was not better on the held-out check, so it
was not written (`--force` writes it anyway); 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SOURCES_HELP = """\
sources (mixed freely, recognised by content):
  FILE.json                 PolicyQA/SQuAD JSON: each question -> its paragraph
  FILE.jsonl                {"question", "passage"} pairs
  FILE.jsonl[::POLICY]      a labelled set {"question", "sections", "answerable"}, or
                            resolved escalations {"question", "section"} (from
                            `policy-qa outbox export-resolved`), about POLICY
                            (default: --policy, else the configured policy)

Without --eval, a held-out part is split off (by seed): whole documents of a
many-document source such as PolicyQA, a fifth of the questions of any other source.
The model is written only if hit@3 on it improves and the escalation balanced
accuracy (when unanswerable questions are labelled) does not fall."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune", help="fine-tune the embedding model on privacy Q&A",
        description="Fine-tune a sentence-transformers model (MultipleNegativesRankingLoss) "
                    "and write it only if it retrieves the held-out questions better.",
        epilog=SOURCES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="training data")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR",
                        help="folder for the tuned model (and its tune.json)")
    parser.add_argument("--base", default="all-MiniLM-L6-v2", metavar="NAME_OR_PATH",
                        help="model to start from (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--epochs", type=int, default=1, help="default 1")
    parser.add_argument("--max-seq-length", type=int, default=128, metavar="N",
                        help="token cap while training (default 128)")
    parser.add_argument("--seed", type=int, default=42, help="default 42")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="default 32")
    parser.add_argument("--learning-rate", type=float, default=5e-5, metavar="LR",
                        help="default 5e-5")
    parser.add_argument("--eval", action="append", default=[], metavar="SOURCE",
                        help="check on this source instead of a held-out part (repeatable)")
    parser.add_argument("--policy", type=Path,
                        help="policy of labelled sets/escalations given without ::POLICY")
    parser.add_argument("--max-minutes", type=float, metavar="M",
                        help="stop training after M minutes, keeping the best model so far")
    parser.add_argument("--negatives", type=int, default=3, metavar="K",
                        help="push each unanswerable training question away from its K "
                             "nearest passages (default 3; 0 turns it off)")
    parser.add_argument("--force", action="store_true",
                        help="write the model even if the held-out check says it is worse")
    parser.set_defaults(handler=cmd_tune)


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _say(message: str) -> None:
    print(message, flush=True)


def cmd_tune(args: argparse.Namespace, settings: Any) -> int:
    from qa.tuning.run import TuneConfig, tune

    config = TuneConfig(
        sources=tuple(args.sources), out=args.out, base=args.base, epochs=args.epochs,
        max_seq_length=args.max_seq_length, seed=args.seed, batch_size=args.batch_size,
        learning_rate=args.learning_rate, eval_sources=tuple(args.eval),
        policy=args.policy or settings.policy, max_minutes=args.max_minutes,
        force=args.force, negatives=args.negatives, progress=sys.stderr.isatty())
    return finish(tune(config, say=_say, warn=_warn), args.out)


def finish(result: Any, out: Path) -> int:
    """The last line of `tune` and `adapt`, and their exit code (see the module doc)."""
    if not result.written:
        print(f"not written: {result.reason}", flush=True)
        return 1
    print(f"wrote {out} ({result.reason}); use it with POLICY_QA_MODEL={out} "
          "policy-qa build", flush=True)
    return 0
