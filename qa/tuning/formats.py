"""The source formats `policy-qa tune` reads, detected by content, and how each becomes
documents. A source is one of
- PolicyQA/SQuAD JSON (`data[].title`, `data[].paragraphs[].context/.qas[]`): every
  question -> the paragraph it was asked of; one document per website;
- a labelled question set in the Core format, JSON Lines of
  `{"question", "sections": [anchor, ...], "answerable"}`, with the policy it refers to;
- resolved escalations as `policy-qa outbox export-resolved` writes them, JSON Lines
  of `{"question", "section"}`, with the policy;
- question/passage pairs, JSON Lines of `{"question", "passage"}`.

The policy of a labelled set or an escalation export is split into the same chunks
`build` indexes; a passage is "section (sub-section): chunk text", exactly the text the
index embeds for the whole chunk (`index.units.chunk_text`), and a question's gold is
the set of its acceptable anchors.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError, TuneDataError
from index.files import json_objects
from index.split import Chunk, split_policy
from index.units import chunk_text
from qa.tuning.data import Document, Pair, Query

FORMATS = ("policyqa", "labelled", "escalations", "pairs")


_NOT_JSON = ("{where} is in no known format: line {number} is not JSON (expected "
             "PolicyQA/SQuAD JSON or JSON Lines)")


def _json_lines(path: Path, text: str) -> list[dict[str, Any]]:
    rows = json_objects(text, f"source {path}", TuneDataError, not_json=_NOT_JSON)
    return [row for _, row in rows]


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


def _squish(text: Any) -> str:
    return " ".join(str(text).split())


def policyqa_documents(path: Path, data: dict[str, Any]) -> tuple[Document, ...]:
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


def pairs_document(path: Path, rows: Sequence[dict[str, Any]]) -> Document:
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


def escalation_query(path: Path, number: int, row: dict[str, Any]) -> Query:
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


def labelled_queries(path: Path) -> list[Query]:
    """The Core format, read and checked by the evaluation's own loader."""
    from qa.evaluation.data import load_questions

    try:
        questions = load_questions(path)
    except PolicyQAError as exc:
        raise TuneDataError(f"source {path}: {exc}") from None
    return [Query(_squish(q.text), frozenset(str(s) for s in q.gold), q.answerable)
            for q in questions]


def policy_document(path: Path, policy_path: Path, policy: Any,
                     queries: list[Query]) -> Document:
    chunks = split_policy(policy)
    passages = tuple(chunk_text(c) for c in chunks)
    labels = tuple(c.anchor for c in chunks)
    queries = [_as_passage_labels(path, policy_path, chunks, q) for q in queries]
    pairs = tuple(Pair(q.question, q.gold) for q in queries if q.answerable)
    return Document(policy_path.name, str(path), passages, labels, pairs, tuple(queries))


def _as_passage_labels(path: Path, policy_path: Path, chunks: list[Chunk], query: Query
                       ) -> Query:
    """A query's gold labels as passage labels. A label may name a chunk's anchor or the
    section a paragraph with its own id is in (`{: #personal-info }` in "Things you
    should know"), as `policy-qa eval` counts them (qa/evaluation/systems.py `place`);
    a section label stands for each of its chunks."""
    gold = frozenset(c.anchor for c in chunks
                     if c.anchor in query.gold or c.section_anchor in query.gold)
    known = {c.anchor for c in chunks} | {c.section_anchor for c in chunks}
    unknown = sorted(query.gold - known)
    if unknown:
        raise TuneDataError(f"source {path}: question {query.question[:60]!r} names "
                            f"section {unknown[0]!r}, which {policy_path} does not have")
    return dataclasses.replace(query, gold=gold) if gold != query.gold else query
