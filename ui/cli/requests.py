"""`policy-qa requests ...`: list, show, set-state, set-jurisdiction, export, deliver,
remind, purge, resend-mail over the log of privacy rights requests (qa/rights/store.py,
`requests.sqlite3` next to the outbox).

Handlers take `(args, settings)` and return an exit code. Kinds, states,
jurisdictions and formats are checked by the store, not by argparse, so bad input is
one line on stderr and exit code 2 (ui/cli/main.py), like every domain error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError
from index.files import write_atomic
from qa.rights.deadlines import local_day
from qa.rights.records import STATES, RightsRequest, iso_time, to_csv, to_json
from qa.rights.store import RequestStore
from qa.rights.urgency import flag_label, urgency
from ui.cli.outbox import shorten

FORMATS = ("csv", "json")


def register(subparsers: Any) -> None:
    requests = subparsers.add_parser("requests", help="privacy rights requests and their deadlines")
    sub = requests.add_subparsers(dest="requests_command", required=True, metavar="ACTION")

    show_all = sub.add_parser("list", help="show requests, soonest due first")
    show_all.add_argument("--kind", help="only this kind (access, deletion, ...)")
    show_all.add_argument("--state", help=f"only this state ({', '.join(STATES)})")
    show_all.add_argument("--jurisdiction", help="only this jurisdiction (eu_uk, ...)")
    show_all.add_argument("--overdue", action="store_true",
                          help="only open requests past their response or confirmation date")
    show_all.add_argument("--json", action="store_true", help="one JSON object per line")
    show_all.set_defaults(handler=cmd_list)

    show = sub.add_parser("show", help="one request with its history")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    show.set_defaults(handler=cmd_show)

    move = sub.add_parser("set-state", help="move a request to another state")
    move.add_argument("id")
    move.add_argument("state", metavar="STATE", help=", ".join(STATES))
    move.add_argument("--note", default="", help="what was done")
    move.add_argument("--reason", default="", help="required for refused and extended")
    move.add_argument("--actor", default="cli", help="who did it (default: cli)")
    move.set_defaults(handler=cmd_set_state)

    where = sub.add_parser("set-jurisdiction", help="correct a request's jurisdiction (its "
                           "dates are computed again from the day of receipt)")
    where.add_argument("id")
    where.add_argument("jurisdiction", metavar="JURISDICTION",
                       help="eu_uk, california, us_other, elsewhere or unknown")
    where.add_argument("--note", default="", help="how it was established")
    where.add_argument("--actor", default="cli", help="who did it (default: cli)")
    where.set_defaults(handler=cmd_set_jurisdiction)

    purge = sub.add_parser("purge", help="blank the personal data of requests closed longer "
                           "ago than retention (the record stays)")
    purge.set_defaults(handler=cmd_purge)

    export = sub.add_parser("export", help="every request as CSV or JSON")
    export.add_argument("--format", default="csv", help="csv (default) or json")
    export.add_argument("--out", type=Path, help="FILE (default: standard output)")
    export.set_defaults(handler=cmd_export)

    deliver = sub.add_parser("deliver", help="e-mail pending requests to the privacy inbox")
    deliver.set_defaults(handler=cmd_deliver)

    remind = sub.add_parser("remind", help="e-mail the privacy inbox today's overdue and "
                            "due-soon requests (run it daily)")
    remind.set_defaults(handler=cmd_remind)

    resend = sub.add_parser("resend-mail", help="queue a request's failed e-mail again")
    resend.add_argument("id")
    resend.set_defaults(handler=cmd_resend_mail)


def _store(settings: Any) -> RequestStore:
    return RequestStore.from_settings(settings)


def cmd_list(args: argparse.Namespace, settings: Any) -> int:
    store = _store(settings)
    rows = store.list(kind=args.kind, state=args.state, jurisdiction=args.jurisdiction)
    on = local_day(store.clock(), store.rules)
    if args.overdue:
        rows = [r for r in rows if urgency(r, on) == "overdue"]
    if args.json:
        for request in rows:
            print(json.dumps({**request.to_dict(), "flag": flag_label(request, on)},
                             ensure_ascii=False))
        return 0
    header = ("ID", "KIND", "JURISDICTION", "STATE", "RECEIVED", "DUE", "FLAG", "MAIL",
              "MESSAGE")
    table = [header] + [
        (r.id, r.kind, r.jurisdiction, r.state, r.received_local,
         r.respond_by + (" (ext.)" if r.extended_due else ""), flag_label(r, on) or "-",
         r.mail_status, shorten(r.question)) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
    if not rows:
        print("(no requests)")
    return 0


def cmd_show(args: argparse.Namespace, settings: Any) -> int:
    request = _store(settings).get(args.id)
    if args.json:
        print(json.dumps(request.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print(describe(request))
    return 0


def describe(r: RightsRequest) -> str:
    """A request as the terminal shows it: its fields, then its history."""
    due = r.due + (f", extended to {r.extended_due}" if r.extended_due else "")
    mail = r.mail_status + (f" ({r.mail_error})" if r.mail_error else "")
    lines = [
        f"{r.id}  {r.kind}  {r.state}",
        f"  jurisdiction: {r.jurisdiction}",
        f"  received:     {r.received_local} ({r.received_iso} UTC)",
        f"  confirm by:   {r.confirm_by or '-'}",
        f"  due:          {due}",
        f"  e-mail:       {shorten(r.email, 254)}",
        f"  message:      {shorten(r.question, 200)}",
        f"  details:      {shorten(r.details, 200) if r.details else '-'}",
        f"  mail:         {shorten(mail, 200)}, {r.mail_attempts} attempts",
        "  history:",
    ]
    for event in r.history:
        move = f"{event.from_state or '-'} -> {event.to_state}"
        said = "; ".join(shorten(t, 120) for t in (event.reason, event.note) if t)
        lines.append(f"    {iso_time(event.at)}  {move}  by {shorten(event.actor or '-', 40)}"
                     + (f": {said}" if said else ""))
    return "\n".join(lines)


def cmd_set_state(args: argparse.Namespace, settings: Any) -> int:
    request = _store(settings).set_state(args.id, args.state, args.note, args.actor,
                                         reason=args.reason)
    extended = f", due {request.extended_due}" if args.state == "extended" else ""
    print(f"{request.id} is now {request.state}{extended}")
    return 0


def cmd_export(args: argparse.Namespace, settings: Any) -> int:
    if args.format not in FORMATS:
        raise PolicyQAError(f"--format must be csv or json. Currently, --format is "
                            f"{args.format[:20]!r}")
    rows = _store(settings).export_rows()
    text = to_csv(rows) if args.format == "csv" else to_json(rows)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    if out.is_dir():
        raise PolicyQAError(f"--out must be a file, not the folder {str(out)!r}")
    try:
        write_atomic(out, text, mode=0o600)
    except OSError as exc:
        raise PolicyQAError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    print(f"wrote {len(rows)} requests to {out}")
    return 0


def cmd_deliver(args: argparse.Namespace, settings: Any) -> int:
    from qa.escalation.transport import transport_from_settings
    from qa.rights.mail import deliver_requests_once

    transport = transport_from_settings(settings)
    report = deliver_requests_once(_store(settings), settings, transport=transport)
    print(f"{report} via {transport.describe()}")
    return 0


def cmd_set_jurisdiction(args: argparse.Namespace, settings: Any) -> int:
    from qa.rights.upkeep import set_jurisdiction

    r = set_jurisdiction(_store(settings), args.id, args.jurisdiction, args.note, args.actor)
    extension = f", extendable to {r.extendable_to}" if r.extendable_to else ""
    print(f"{r.id} is now {r.jurisdiction}: due {r.due}{extension}")
    return 0


def cmd_purge(args: argparse.Namespace, settings: Any) -> int:
    from qa.rights.upkeep import purge

    count = purge(_store(settings), settings.retention_days)
    print(f"blanked the e-mail, message and details of {count} requests closed more than "
          f"{settings.retention_days:g} days ago")
    return 0


def cmd_remind(args: argparse.Namespace, settings: Any) -> int:
    from qa.escalation.transport import transport_from_settings
    from qa.rights.reminders import send_reminders

    transport = transport_from_settings(settings)
    sent = send_reminders(_store(settings), transport, mail_from=settings.sender,
                          public_url=settings.public_url)
    for inbox, count in sent:
        print(f"reminded {inbox} of {count} request(s) via {transport.describe()}")
    if not sent:
        print("nothing overdue or due soon: no reminder sent")
    return 0


def cmd_resend_mail(args: argparse.Namespace, settings: Any) -> int:
    request = _store(settings).resend_mail(args.id)
    print(f"{request.id}: e-mail queued again for {request.to}")
    return 0
