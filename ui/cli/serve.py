"""`policy-qa serve`: the web chat, JSON API, widget loader and console in one server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.settings import Settings
from ui.web import server


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve", help="run the web chat, JSON API and support console (uvicorn)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 7860)")
    serve.add_argument("--index", type=Path, help="index directory (default POLICY_QA_INDEX)")
    serve.set_defaults(handler=cmd_serve)


def urls(host: str, port: int) -> dict[str, str]:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    base = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    return {"chat": f"{base}/", "api docs": f"{base}/docs", "console": f"{base}/console/",
            "health": f"{base}/healthz",
            "embed": f'<script src="{base}/widget.js" defer></script>'}


def _check_early(settings: Settings, service) -> None:
    """What the operator can get wrong fails before the model loads (seconds), not
    after: the console users and the database (a wrong URL, a server that is away)."""
    from ui.web.console.auth import parse_users

    parse_users(settings.console_users)
    if service.outbox is not None:
        service.outbox.counts()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from qa.service import build_service
    from ui.web.app import create_app

    changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.replace(**changes) if changes else settings
    print(f"policy-qa: loading the index {settings.index} and the model ...", file=sys.stderr,
          flush=True)
    service = build_service(settings, escalate=True)
    _check_early(settings, service)
    service.embedder.serve_in_lanes(settings.lanes)  # before its warm-up's big runs
    service.warm_up()
    app = create_app(settings, service=service)
    title = service.title or "privacy policy"
    print(f"policy-qa: serving {title!r} ({len(service.index.chunks)} chunks); "
          f"questions it cannot answer go to {service.inbox or '(nowhere)'}")
    if not service.inbox:
        print("policy-qa: warning: no privacy inbox (the policy names no e-mail address): "
              "unanswered questions cannot be forwarded; set POLICY_QA_INBOX", file=sys.stderr)
    for name, value in urls(settings.host, settings.port).items():
        print(f"  {name:9} {value}")
    print("Press Ctrl-C to stop.", flush=True)
    server.run(app, host=settings.host, port=settings.port, log_level="info",
               timeout_graceful_shutdown=5)
    return 0
