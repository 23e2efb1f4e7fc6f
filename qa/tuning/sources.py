"""Reading `policy-qa tune`'s sources: a SOURCE is a file, its format detected by content
(the formats are in `qa.tuning.formats`), read into a `Source` of documents.

The policy of a labelled set or an escalation export is named after the file with
`::` (`korero-dev.jsonl::index/data/korero-privacy.md`), or else it is the configured
policy (`--policy`, default POLICY_QA_POLICY).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from index.errors import TuneDataError
from index.files import read_file
from index.policy import load_policy
from qa.tuning.data import Source
from qa.tuning.formats import (
    detect,
    escalation_query,
    labelled_queries,
    pairs_document,
    policy_document,
    policyqa_documents,
)

POLICY_SEPARATOR = "::"


def parse_spec(spec: str, default_policy: Path | None) -> tuple[Path, Path | None]:
    """`FILE` or `FILE::POLICY` -> (file, policy or the default)."""
    if POLICY_SEPARATOR in spec:
        data, policy = spec.split(POLICY_SEPARATOR, 1)
        if not data or not policy:
            raise TuneDataError(f"source {spec!r}: write FILE::POLICY with both parts")
        return Path(data), Path(policy)
    return Path(spec), default_policy


def _read_bytes(path: Path) -> bytes:
    return read_file(path, "source file", TuneDataError)


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TuneDataError(f"source {path} is not UTF-8 text (bad byte at position "
                            f"{exc.start})") from None
    if not text.strip():
        raise TuneDataError(f"source {path} is empty")
    return text


def load_source(spec: str, default_policy: Path | None) -> Source:
    path, policy_path = parse_spec(spec, default_policy)
    raw = _read_bytes(path)
    fmt, content = detect(path, _decode(path, raw))
    sha = hashlib.sha256(raw).hexdigest()
    if fmt == "policyqa":
        return Source(path, fmt, sha, policyqa_documents(path, content))
    if fmt == "pairs":
        return Source(path, fmt, sha, (pairs_document(path, content),))
    if policy_path is None:
        raise TuneDataError(f"source {path} ({fmt}) needs its policy: write "
                            f"{path}::POLICY_FILE or pass --policy")
    policy = load_policy(policy_path)
    queries = (labelled_queries(path) if fmt == "labelled"
               else [escalation_query(path, n, r) for n, r in enumerate(content, 1)])
    doc = policy_document(path, policy_path, policy, queries)
    return Source(path, fmt, sha, (doc,), policy_path, policy.sha256)


def load_sources(specs: Iterable[str], default_policy: Path | None) -> list[Source]:
    sources = [load_source(spec, default_policy) for spec in specs]
    if not sources:
        raise TuneDataError("no source given; pass at least one SOURCE file")
    return sources
