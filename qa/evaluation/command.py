"""The evaluation script's command line: `policy-qa eval` and `python -m qa.evaluation`
(the same arguments; the runner is `qa.evaluation.run`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError
from qa.evaluation.run import EvalOptions, evaluate
from qa.evaluation.score import summary
from qa.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("questions", type=Path, metavar="QUESTIONS",
                        help="JSON Lines question set, or a PolicyQA JSON file with "
                             "--format policyqa")
    parser.add_argument("--format", default="jsonl", help="jsonl (default) or policyqa")
    parser.add_argument("--index", type=Path, help="index directory (default: POLICY_QA_INDEX)")
    parser.add_argument("--policy", type=Path, nargs="+", metavar="DOCUMENT",
                        help="index these documents in memory instead (one policy file; or "
                             "several files, a folder or a TOML list, as `build` takes them)")
    parser.add_argument("--labels-for", default="", metavar="DOCUMENT",
                        help="with several documents: the document id bare label anchors "
                             "belong to (else labels must read document#anchor)")
    parser.add_argument("--compare", action="store_true",
                        help="also run the BM25 and tutorial-pipeline baselines")
    parser.add_argument("--calibrate", action="store_true",
                        help="sweep the resolved/unresolved threshold on this labelled set")
    parser.add_argument("--calibrate-on", type=Path, metavar="FILE",
                        help="calibrate every system's threshold on FILE and apply it here")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object")
    parser.add_argument("--out", type=Path, help="report folder (default reports/eval-NAME)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N questions")


def _policy(paths: list[Path] | None) -> Path | tuple[Path, ...] | None:
    """One policy file as a Path (read as `--policy FILE` always was); several files, a
    folder or a TOML list as a tuple (built as `build` builds several documents)."""
    if not paths:
        return None
    one = paths[0]
    if len(paths) == 1 and not one.is_dir() and one.suffix.lower() != ".toml":
        return one
    return tuple(paths)


def options_from(args: argparse.Namespace) -> EvalOptions:
    return EvalOptions(args.questions, args.format, args.index, _policy(args.policy),
                       args.compare,
                       args.calibrate, args.calibrate_on, args.out, args.limit,
                       progress=sys.stderr.isatty(), labels_for=args.labels_for)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """Handler of `policy-qa eval` (and of `python -m qa.evaluation`)."""
    from qa.evaluation.report import render_text

    options = options_from(args)
    factory = None
    if options.progress:
        from tqdm import tqdm

        def factory(total: int) -> Any:
            return tqdm(total=total, file=sys.stderr, unit="q", desc="eval", disable=False)
    report = evaluate(options, settings, progress_factory=factory)
    if args.json:
        print(json.dumps(summary(report), ensure_ascii=False))
    else:
        print(render_text(report))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m qa.evaluation`: the same command as `policy-qa eval`."""
    import logging

    from qa.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m qa.evaluation")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        return run_command(args, load_settings(index=args.index))
    except PolicyQAError as exc:
        print(f"policy-qa: error: {exc}", file=sys.stderr)
        return 2
