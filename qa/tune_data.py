"""Training data for `policy-qa tune`: sources, detected by content, turned into
documents; and the deterministic held-out split.

A source is one of
- PolicyQA/SQuAD JSON (`data[].title`, `data[].paragraphs[].context/.qas[]`): every
  question -> the paragraph it was asked of; one document per website;
- a labelled question set in the Core format, JSON Lines of
  `{"question", "sections": [anchor, ...], "answerable"}`, with the policy it refers to;
- resolved escalations as `policy-qa outbox export-resolved` writes them, JSON Lines
  of `{"question", "section"}`, with the policy;
- question/passage pairs, JSON Lines of `{"question", "passage"}`.

The policy of a labelled set or an escalation export is named after the file with
`::` (`korero-dev.jsonl::index/data/korero-privacy.md`), or else it is the configured
policy (`--policy`, default POLICY_QA_POLICY). Such a policy is split into the same
chunks `build` indexes; a passage is "section (sub-section): chunk text", as the index
embeds whole chunks, and a question's gold is the set of its acceptable anchors.

A `Document` is one corpus: its passages with a label each (an anchor, or a paragraph
number), the training pairs (question -> acceptable labels) and the evaluation
queries (question -> gold labels, answerable or not).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError, TuneDataError, read_file
from index.policy import load_policy
from index.split import split_policy

POLICY_SEPARATOR = "::"
FORMATS = ("policyqa", "labelled", "escalations", "pairs")
HELD_OUT_FRACTION = 0.2


@dataclass(frozen=True)
class Query:
    question: str
    gold: frozenset[str]  # acceptable passage labels (empty when unanswerable)
    answerable: bool = True


@dataclass(frozen=True)
class Pair:
    question: str
    labels: frozenset[str]  # acceptable passage labels; the positive is one of them


@dataclass(frozen=True)
class Document:
    name: str
    source: str
    passages: tuple[str, ...]
    labels: tuple[str, ...]  # one per passage; several passages may share a label
    pairs: tuple[Pair, ...]
    queries: tuple[Query, ...]

    def candidates(self, pair: Pair) -> list[str]:
        """The passages a pair may use as its positive."""
        return [p for p, label in zip(self.passages, self.labels, strict=True)
                if label in pair.labels]


@dataclass(frozen=True)
class Source:
    path: Path
    format: str
    sha256: str
    documents: tuple[Document, ...]
    policy: Path | None = None
    policy_sha256: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": str(self.path), "format": self.format,
                               "sha256": self.sha256,
                               "documents": len(self.documents),
                               "pairs": sum(len(d.pairs) for d in self.documents),
                               "questions": sum(len(d.queries) for d in self.documents)}
        if self.policy is not None:
            out["policy"] = {"path": str(self.policy), "sha256": self.policy_sha256}
        return out


@dataclass(frozen=True)
class Split:
    train: tuple[Document, ...]
    held_out: tuple[Document, ...]
    how: str  # what was held out, for people
    held_out_documents: tuple[str, ...] = field(default=())


# --- reading ---------------------------------------------------------------------------

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


def _json_lines(path: Path, text: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise TuneDataError(f"source {path} is in no known format: line {number} is "
                                "not JSON (expected PolicyQA/SQuAD JSON or JSON Lines)") from None
        if not isinstance(row, dict):
            raise TuneDataError(f"source {path} line {number} is not a JSON object")
        rows.append(row)
    return rows


def detect(path: Path, text: str) -> tuple[str, Any]:
    """(format, parsed content) by content, whatever the file is called."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("data"), list):
        return "policyqa", whole
    rows = [whole] if isinstance(whole, dict) else _json_lines(path, text)
    keys = set(rows[0]) if rows else set()
    for fmt, key in (("pairs", "passage"), ("labelled", "sections"), ("escalations", "section")):
        if "question" in keys and key in keys:
            return fmt, rows
    raise TuneDataError(
        f"source {path} is in no known format: expected PolicyQA/SQuAD JSON, or JSON Lines "
        "with question+passage, question+sections (a labelled set) or question+section "
        f"(resolved escalations); the first record has keys {sorted(keys) or 'none'}")


def load_source(spec: str, default_policy: Path | None) -> Source:
    path, policy_path = parse_spec(spec, default_policy)
    raw = _read_bytes(path)
    fmt, content = detect(path, _decode(path, raw))
    sha = hashlib.sha256(raw).hexdigest()
    if fmt == "policyqa":
        return Source(path, fmt, sha, _policyqa_documents(path, content))
    if fmt == "pairs":
        return Source(path, fmt, sha, (_pairs_document(path, content),))
    if policy_path is None:
        raise TuneDataError(f"source {path} ({fmt}) needs its policy: write "
                            f"{path}::POLICY_FILE or pass --policy")
    policy = load_policy(policy_path)
    queries = (_labelled_queries(path) if fmt == "labelled"
               else [_escalation_query(path, n, r) for n, r in enumerate(content, 1)])
    doc = _policy_document(path, policy_path, policy, queries)
    return Source(path, fmt, sha, (doc,), policy_path, policy.sha256)


def load_sources(specs: Iterable[str], default_policy: Path | None) -> list[Source]:
    sources = [load_source(spec, default_policy) for spec in specs]
    if not sources:
        raise TuneDataError("no source given; pass at least one SOURCE file")
    return sources


# --- formats -----------------------------------------------------------------------

def _squish(text: Any) -> str:
    return " ".join(str(text).split())


def _policyqa_documents(path: Path, data: dict[str, Any]) -> tuple[Document, ...]:
    try:
        docs = tuple(_policyqa_document(path, entry) for entry in data["data"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TuneDataError(f"source {path} is not PolicyQA/SQuAD JSON (data[].title, "
                            f"data[].paragraphs[].context/.qas): {type(exc).__name__} "
                            f"{exc}") from None
    docs = tuple(d for d in docs if d.pairs)
    if not docs:
        raise TuneDataError(f"source {path} holds no answered questions")
    return docs


def _policyqa_document(path: Path, entry: dict[str, Any]) -> Document:
    title = _squish(entry["title"]) or "policy"
    paragraphs = sorted(entry["paragraphs"], key=lambda p: int(p.get("index", 0)))
    passages = tuple(_squish(p["context"]) for p in paragraphs)
    labels = tuple(f"p{i}" for i in range(len(passages)))
    pairs, gold = [], {}
    for label, paragraph in zip(labels, paragraphs, strict=True):
        for qa in paragraph["qas"]:
            question = _squish(qa["question"])
            if question and qa.get("answers"):
                pairs.append(Pair(question, frozenset([label])))
                gold.setdefault(question, set()).add(label)
    queries = tuple(Query(q, frozenset(g)) for q, g in gold.items())
    return Document(title, str(path), passages, labels, tuple(pairs), queries)


def _pairs_document(path: Path, rows: Sequence[dict[str, Any]]) -> Document:
    passages: dict[str, str] = {}
    pairs, gold = [], {}
    for number, row in enumerate(rows, 1):
        question, passage = row.get("question"), row.get("passage")
        if not (isinstance(question, str) and question.strip()
                and isinstance(passage, str) and passage.strip()):
            raise TuneDataError(f"source {path} line {number}: 'question' and 'passage' "
                                "must be non-empty strings")
        label = passages.setdefault(_squish(passage), f"p{len(passages)}")
        pairs.append(Pair(_squish(question), frozenset([label])))
        gold.setdefault(_squish(question), set()).add(label)
    queries = tuple(Query(q, frozenset(g)) for q, g in gold.items())
    return Document(path.name, str(path), tuple(passages), tuple(passages.values()),
                    tuple(pairs), queries)


def _escalation_query(path: Path, number: int, row: dict[str, Any]) -> Query:
    question, section = row.get("question"), row.get("section")
    if not (isinstance(question, str) and question.strip()
            and isinstance(section, str) and anchor_of(section)):
        raise TuneDataError(f"source {path} line {number}: 'question' and 'section' must "
                            "be non-empty strings")
    return Query(_squish(question), frozenset([anchor_of(section)]))


def anchor_of(section: str) -> str:
    """An anchor as an agent may have given it: `anchor`, `#anchor` or a link to it."""
    anchor = section.strip().rsplit("#", 1)[-1]
    return anchor.split(":~:", 1)[0].strip()


def _labelled_queries(path: Path) -> list[Query]:
    """The Core format, read and checked by the evaluation's own loader."""
    from qa.eval_data import load_questions

    try:
        questions = load_questions(path)
    except PolicyQAError as exc:
        raise TuneDataError(f"source {path}: {exc}") from None
    return [Query(_squish(q.text), frozenset(str(s) for s in q.gold), q.answerable)
            for q in questions]


def _policy_document(path: Path, policy_path: Path, policy: Any,
                     queries: list[Query]) -> Document:
    chunks = split_policy(policy)
    passages = tuple(f"{c.section} {c.subsection}: {c.text}" if c.subsection
                     else f"{c.section}: {c.text}" for c in chunks)
    labels = tuple(c.anchor for c in chunks)
    known = set(labels)
    for query in queries:
        unknown = sorted(query.gold - known)
        if unknown:
            raise TuneDataError(f"source {path}: question {query.question[:60]!r} names "
                                f"section {unknown[0]!r}, which {policy_path} does not have")
    pairs = tuple(Pair(q.question, q.gold) for q in queries if q.answerable)
    return Document(policy_path.name, str(path), passages, labels, pairs, tuple(queries))


# --- held-out split --------------------------------------------------------------------

def split_held_out(sources: Sequence[Source], seed: int,
                   fraction: float = HELD_OUT_FRACTION) -> Split:
    """Deterministic by seed. A source of several documents (PolicyQA's websites) gives
    whole documents, so held-out passages are unseen; a one-document source (a labelled
    set, escalations, a pairs file) gives a share of its distinct questions."""
    train: list[Document] = []
    held: list[Document] = []
    notes: list[str] = []
    names: list[str] = []
    for source in sources:
        if len(source.documents) > 1:
            keep, out = _split_documents(source.documents, seed, fraction)
            names += [d.name for d in out]
            notes.append(f"{len(out)} of {len(source.documents)} documents of "
                         f"{source.path.name}")
        else:
            keep, out = _split_questions(source.documents[0], seed, fraction)
            notes.append(f"{sum(len(d.queries) for d in out)} of "
                         f"{len(source.documents[0].queries)} questions of {source.path.name}")
        train += keep
        held += out
    return Split(tuple(train), tuple(held), "held out " + "; ".join(notes), tuple(names))


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def _split_documents(docs: Sequence[Document], seed: int, fraction: float
                     ) -> tuple[list[Document], list[Document]]:
    order = sorted(docs, key=lambda d: d.name)
    _rng(seed, "documents").shuffle(order)
    total = sum(len(d.pairs) for d in docs)
    out: list[Document] = []
    while len(out) < len(order) - 1 and (
            not out or sum(len(d.pairs) for d in out) < fraction * total):
        out.append(order[len(out)])
    taken = {id(d) for d in out}
    return [d for d in docs if id(d) not in taken], out


def _split_questions(doc: Document, seed: int, fraction: float
                     ) -> tuple[list[Document], list[Document]]:
    questions = sorted({q.question for q in doc.queries})
    _rng(seed, doc.name).shuffle(questions)
    held = set(questions[: max(1, round(fraction * len(questions)))]) if len(questions) > 1 \
        else set()
    train = replace(doc, pairs=tuple(p for p in doc.pairs if p.question not in held),
                    queries=tuple(q for q in doc.queries if q.question not in held))
    out = replace(doc, pairs=(), queries=tuple(q for q in doc.queries if q.question in held))
    return [train], ([out] if out.queries else [])


def given_eval(train: Sequence[Source], evaluation: Sequence[Source]) -> Split:
    """--eval: train on everything, evaluate on the given sources."""
    docs = tuple(d for s in train for d in s.documents)
    held = tuple(d for s in evaluation for d in s.documents)
    names = ", ".join(s.path.name for s in evaluation)
    return Split(docs, held, f"evaluated on {names}")
