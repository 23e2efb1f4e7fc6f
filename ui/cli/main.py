"""The `policy-qa` command: the only place that prints or exits.

Each command group lives in a small module with `register(subparsers)`; handlers take
`(args, settings)` and return an exit code. Domain errors become one line on stderr and
exit code 2; nothing else reaches the user as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from index.errors import PolicyQAError
from qa.service import build_service
from qa.settings import Settings, create_embedder, load_settings

# command groups registered by other modules (each has `register(subparsers)`)
PLUGINS = ("ui.cli.outbox", "ui.cli.serve", "ui.cli.console", "ui.cli.eval", "ui.cli.bench",
           "ui.cli.tune", "ui.cli.adapt", "ui.cli.requests")

log = logging.getLogger(__name__)


def _environment() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-qa",
        description="Answer questions about a privacy policy with quotes and section links.")
    parser.add_argument("--config", type=Path, help="TOML settings file")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="index a policy: files, http(s) URLs, a folder or "
                                         "a TOML list of documents, into one index")
    build.add_argument("policy", nargs="*", metavar="DOCUMENT",
                       help="policy file or http(s) URL of the published page; several "
                            "documents (privacy.md cookies.html terms.pdf), a folder, or a "
                            ".toml list of [[document]] path/url/title/id (default: bundled)")
    build.add_argument("--allow-private", action="store_true",
                       help="allow fetching from loopback/private addresses, e.g. a local "
                            "test server")
    build.add_argument("--out", type=Path, help="index directory (default: POLICY_QA_INDEX)")
    build.add_argument("--base-url", help="where the policy is published")
    build.add_argument("--model", help="sentence-transformers model name or folder")
    build.set_defaults(handler=cmd_build)

    ask = sub.add_parser("ask", help="answer questions (one Answer JSON per line with --json)")
    ask.add_argument("questions", nargs="*", metavar="QUESTION")
    ask.add_argument("--index", type=Path, help="index directory")
    ask.add_argument("--file", type=Path, help="read one question per line ('-' for stdin)")
    ask.add_argument("--json", action="store_true", help="print Answer JSON lines")
    ask.add_argument("--escalate", action="store_true",
                     help="queue unresolved questions for the privacy inbox (sent by "
                          "`policy-qa outbox deliver` or a running `policy-qa serve`)")
    ask.add_argument("--email", help="with --escalate: the address the team replies to")
    ask.set_defaults(handler=cmd_ask)

    chat = sub.add_parser("chat", help="interactive chat in the terminal")
    chat.add_argument("--index", type=Path, help="index directory")
    chat.set_defaults(handler=cmd_chat)

    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        overrides = {k: getattr(args, k, None) for k in ("index", "model", "base_url")}
        settings = load_settings(args.config, **overrides)
        return int(args.handler(args, settings) or 0)
    except PolicyQAError as exc:
        print(f"policy-qa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("policy-qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


# --- build -------------------------------------------------------------------------

def _quiet_progress() -> None:
    """Progress bars (the model's "Loading weights") only when stderr is a terminal,
    so a failing command prints exactly one line there."""
    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    _quiet_progress()
    from index.documents import DocumentSpec, choose_inbox, load_documents, resolve
    from index.store import build_documents, previous_index, save_index
    from qa.answering.decider import fitted_record

    out = Path(args.out or settings.index).expanduser()
    specs = resolve(args.policy) if args.policy else [DocumentSpec(str(settings.policy))]
    docs = load_documents(specs, base_url=settings.base_url, allow_private=args.allow_private)
    embedder = create_embedder(settings)
    index = build_documents(docs, embedder, base_url=settings.base_url, inbox=settings.inbox,
                            previous=previous_index(out, embedder.id))
    decision = fitted_record(index, embedder) if settings.decision == "answerability" else None
    if decision is not None:
        index.manifest["answerability"] = decision
    try:
        save_index(index, out)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PolicyQAError(f"cannot write the index to {out}: {reason}") from None
    _report_build(index.manifest, docs, out)
    _warn_language(docs)
    why = "POLICY_QA_INBOX" if settings.inbox else (choose_inbox(docs)[1]
                                                    or "none found; set POLICY_QA_INBOX")
    m = index.manifest
    print(f"privacy inbox: {m['inbox'] or '(none)'} ({why})")
    if not m["inbox"]:
        print("warning: unanswered questions cannot be forwarded until POLICY_QA_INBOX "
              "names the privacy team's address", file=sys.stderr)
    if len(docs) == 1:
        none = "(fragment-only: the policy names no page URL; pass --base-url)"
        print(f"links: {m['base_url'] or none}")
    _note_bare_headings(docs)
    if decision is not None:
        print(f"resolved/unresolved: the answerability model (p >= {decision['threshold']}), "
              f"scaled on {decision['bank_questions']} generic unanswerable questions "
              "(no labels of this policy)")
    return 0


def _note_bare_headings(docs: list) -> None:
    """An HTML page whose section headings have no id: their links' fragments name no
    element of the page, so they scroll by the quoted sentence alone (text fragments)."""
    from index.heading_ids import bare_headings

    for doc in (d for d in docs if d.policy.format == "html"):
        bare, total = bare_headings(doc.policy.body)
        if bare:
            print(f"note: {bare} of {total} headings of {doc.policy.name} have no id on the "
                  "page; links to those sections scroll to the quoted sentence by text "
                  "fragment alone (current Chrome, Edge, Safari and Firefox); give the "
                  "headings ids to link the sections themselves")


def _warn_language(docs: list) -> None:
    from index.stopwords import looks_english

    for doc in docs:
        if not looks_english(doc.policy.body):
            print(f"warning: {doc.policy.name} does not look English; the packaged model "
                  "understands English only (a policy in another language needs a "
                  "multilingual model: POLICY_QA_MODEL)", file=sys.stderr)


def _report_build(m: dict, docs: list, out: Path) -> None:
    """What was indexed: one document as before; several, one line each."""
    for info in m["documents"]:
        src = info.get("fetched") or {}
        if src:
            modified = f", Last-Modified {src['last_modified']}" if src["last_modified"] else ""
            print(f"fetched {src['url']} ({src['bytes']} bytes, sha256 {src['sha256'][:12]}, "
                  f"ETag {src['etag'] or '(none)'}{modified})")
    if len(docs) == 1:
        print(f"indexed {docs[0].policy.name!r} ({m['title']}, last revised "
              f"{m['last_revised'] or '?'}): {m['chunks']} chunks, {m['units']} units, model "
              f"{m['model']}, {m['build_seconds']:.1f}s -> {out}")
        return
    print(f"indexed {len(docs)} documents: {m['chunks']} chunks, {m['units']} units, model "
          f"{m['model']}, {m['build_seconds']:.1f}s -> {out}")
    for info in m["documents"]:
        vectors = "vectors reused" if info["id"] in m["reused"] else "embedded"
        link = info["url"] or "fragment-only links: give its url in a TOML list"
        print(f"  {info['id']}: {info['title']!r} ({info['name']}, last revised "
              f"{info.get('last_revised') or '?'}, {info['chunks']} chunks, {vectors}) -> {link}")


# --- ask / chat --------------------------------------------------------------------

def _read_questions(args: argparse.Namespace) -> list[str]:
    questions = list(args.questions)
    if args.file:
        try:
            text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyQAError(f"cannot read questions from {args.file}: {exc}") from None
        questions += [line for line in text.splitlines() if line.strip()]
    if not questions:
        raise PolicyQAError("no question given; pass QUESTION arguments or --file FILE")
    return questions


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    _quiet_progress()
    questions = _read_questions(args)
    service = build_service(settings, escalate=args.escalate)
    service.index  # noqa: B018 - a missing or foreign index fails even for "hi"
    if args.email and not args.escalate:
        raise PolicyQAError("--email is the reply address of escalated questions; add --escalate")
    queued = requests = 0
    for answer in service.ask_many(questions):
        if args.escalate and not answer.resolved and answer.kind == "unresolved":
            answer = service.escalate(answer, client="cli", email=args.email)
            queued += answer.escalation is not None
        requests += answer.kind == "request"
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(f"Q: {answer.question}\n{answer.answer}\n", flush=True)
    if queued:
        where = "the database" if settings.database_url else str(settings.outbox)
        print(f"policy-qa: {queued} question(s) queued in {where} for {service.inbox}; "
              "`policy-qa outbox deliver` sends them now (a running `policy-qa serve` "
              "sends them by itself)", file=sys.stderr)
    if requests:
        print(f"policy-qa: {requests} message(s) ask to exercise a privacy right; nothing was "
              "submitted from here (the chat's form, or POST /api/requests, submits one)",
              file=sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    _quiet_progress()
    service = build_service(settings)
    service.index  # noqa: B018 - fail fast on a missing index, before the prompt
    title = service.title or "the privacy policy"
    print(f"Ask about {title}. An empty line or Ctrl-D quits.")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if not line:
            return 0
        try:
            answer = service.ask(line)
        except PolicyQAError as exc:
            print(f"  ({exc})")
            continue
        print(answer.answer + "\n")


if __name__ == "__main__":
    sys.exit(main())
