"""`policy-qa outbox ...`: deliver, list, resend, resolve, purge, export-resolved.

Handlers take `(args, settings)` and return an exit code; bad input raises the domain
errors of index/errors.py, which ui/cli/main.py turns into one line on stderr.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError
from index.files import write_atomic
from qa.escalation.outbox import STATUSES, Escalation, Outbox

QUESTION_WIDTH = 50


def register(subparsers: Any) -> None:
    outbox = subparsers.add_parser("outbox", help="the escalation outbox (privacy inbox mail)")
    sub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")

    deliver = sub.add_parser("deliver", help="run one delivery pass and print the counts")
    deliver.set_defaults(handler=cmd_deliver)

    show = sub.add_parser("list", help="show escalations, newest first")
    show.add_argument("--status", choices=STATUSES, help="only this status")
    show.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    show.add_argument("--json", action="store_true", help="one JSON object per line")
    show.set_defaults(handler=cmd_list)

    resend = sub.add_parser("resend", help="re-queue a failed escalation")
    resend.add_argument("id")
    resend.set_defaults(handler=cmd_resend)

    resolve = sub.add_parser("resolve", help="mark an escalation as answered")
    resolve.add_argument("id")
    resolve.add_argument("--note", required=True, help="how it was answered")
    resolve.add_argument("--section", help="anchor of the policy section that answers it")
    resolve.set_defaults(handler=cmd_resolve)

    purge = sub.add_parser("purge", help="blank questions resolved longer ago than retention")
    purge.set_defaults(handler=cmd_purge)

    export = sub.add_parser("export-resolved",
                            help="write resolved questions and their sections as JSON lines")
    export.add_argument("--out", type=Path, required=True, help="FILE.jsonl")
    export.set_defaults(handler=cmd_export_resolved)


def _outbox(settings: Any) -> Outbox:
    return Outbox.from_settings(settings)


def cmd_deliver(args: argparse.Namespace, settings: Any) -> int:
    from qa.escalation.delivery import deliver_once
    from qa.escalation.transport import transport_from_settings

    outbox = _outbox(settings)
    transport = transport_from_settings(settings)
    report = deliver_once(outbox, settings, transport=transport)
    counts = outbox.counts()
    print(f"{report} via {transport.describe()}; outbox now: "
          + ", ".join(f"{counts[s]} {s}" for s in STATUSES))
    return 0


def cmd_list(args: argparse.Namespace, settings: Any) -> int:
    if args.limit < 1:
        raise PolicyQAError(f"--limit must be at least 1. Currently, --limit is {args.limit}")
    rows = _outbox(settings).list(status=args.status, limit=args.limit)
    if args.json:
        for esc in rows:
            print(json.dumps(esc.to_dict(), ensure_ascii=False))
        return 0
    print(format_table(rows))
    return 0


def format_table(rows: list[Escalation]) -> str:
    header = ("ID", "STATUS", "TRIES", "CREATED", "NEXT ATTEMPT", "QUESTION")
    lines = [header] + [
        (e.id, e.status, str(e.attempts), _when(e.created_at),
         _when(e.next_attempt_at) if e.status == "queued" else "-", shorten(e.question))
        for e in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = ["  ".join(c.ljust(w) for c, w in zip(line[:-1], widths, strict=True))
           + "  " + line[-1] for line in lines]
    if not rows:
        out.append("(no escalations)")
    return "\n".join(out)


def shorten(text: str, width: int = QUESTION_WIDTH) -> str:
    """One printable line, at most `width` characters (terminal-safe)."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if not line:
        return "(purged)"
    return line if len(line) <= width else line[: width - 1] + "…"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")


def cmd_resend(args: argparse.Namespace, settings: Any) -> int:
    esc = _outbox(settings).resend(args.id)
    print(f"{esc.id} queued for delivery to {esc.to}")
    return 0


def cmd_resolve(args: argparse.Namespace, settings: Any) -> int:
    if args.section:
        _check_section(args.section, settings.index)
    esc = _outbox(settings).resolve(args.id, args.note, section=args.section)
    where = f" (section #{esc.resolution_section})" if esc.resolution_section else ""
    print(f"{esc.id} resolved{where}")
    return 0


def _check_section(section: str, index_dir: Path) -> None:
    """`--section` must be an anchor of the served index: it becomes training data
    (`export-resolved`) and the link the team's answer points to."""
    from index.store import load_index

    anchors = list(dict.fromkeys(c.anchor for c in load_index(index_dir).chunks))
    if section not in anchors:
        shown = ", ".join(anchors[:8]) + (", ..." if len(anchors) > 8 else "")
        raise PolicyQAError(f"unknown section {section[:80]!r}: the index at {index_dir} has "
                            f"{shown}")


def cmd_purge(args: argparse.Namespace, settings: Any) -> int:
    count = _outbox(settings).purge()
    print(f"purged question text of {count} escalations resolved more than "
          f"{settings.retention_days:g} days ago")
    return 0


def cmd_export_resolved(args: argparse.Namespace, settings: Any) -> int:
    examples = _outbox(settings).resolved_examples()
    out = Path(args.out)
    if out.is_dir():
        raise PolicyQAError(f"--out must be a file, not the folder {str(out)!r}")
    write_atomic(out, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples))
    print(f"wrote {len(examples)} resolved questions to {out}")
    return 0
