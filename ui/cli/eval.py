"""`policy-qa eval`: retrieval and escalation metrics on a labelled question set,
with the BM25 and tutorial-pipeline baselines side by side (`--compare`)."""

from __future__ import annotations

import argparse

from qa.evaluation.command import add_arguments, run_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval", help="evaluate retrieval and escalation on a labelled question set",
        description="Evaluate on a JSON Lines question set (question, sections, answerable) "
                    "or a PolicyQA/SQuAD JSON file (--format policyqa); writes report.json, "
                    "report.md and PNG plots.")
    add_arguments(parser)
    parser.set_defaults(handler=run_command)
