"""Labelled evaluation data: Korero-style JSON Lines question sets and PolicyQA
(SQuAD-1.1 layout) files. Every problem with a file is one PolicyQAError line that
names the file (and the line)."""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from index.errors import EvalDataError
from index.files import json_lines, read_text
from qa.evaluation.metrics import Located


@dataclass(frozen=True)
class Question:
    text: str
    gold: frozenset[Hashable]  # acceptable anchors, or paragraph positions (PolicyQA)
    answerable: bool
    group: str = ""  # the policy the question is asked of (PolicyQA)
    note: str = ""


@dataclass(frozen=True)
class PolicyDoc:
    """One PolicyQA policy rebuilt as Markdown, its paragraphs prepared for the
    location rule, and its distinct questions (gold = paragraph positions)."""

    title: str
    text: str
    paragraphs: tuple[Located, ...]
    questions: tuple[Question, ...]


def _read_text(path: Path) -> str:
    return read_text(path, "evaluation file", EvalDataError)


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """JSON Lines: {"question": str, "sections": [anchor, …], "answerable": bool}; an
    anchor may name its document, `document#anchor` (see `for_documents`)."""
    out: list[Question] = []
    for number, row in json_lines(_read_text(path), str(path), EvalDataError):
        out.append(_question(row, f"{path} line {number}"))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise EvalDataError(f"{path} holds no questions")
    return out


def _question(row: Any, where: str) -> Question:
    if not isinstance(row, dict):
        raise EvalDataError(f"{where} is not a JSON object")
    text, sections = row.get("question"), row.get("sections", [])
    answerable = row.get("answerable", bool(sections))
    if not isinstance(text, str) or not text.strip():
        raise EvalDataError(f"{where}: 'question' must be a non-empty string")
    if not isinstance(sections, list) or not all(isinstance(s, str) for s in sections):
        raise EvalDataError(f"{where}: 'sections' must be a list of anchor strings")
    if not isinstance(answerable, bool):
        raise EvalDataError(f"{where}: 'answerable' must be true or false")
    if answerable and not sections:
        raise EvalDataError(f"{where}: an answerable question needs at least one section")
    note = row.get("note")
    return Question(text.strip(), frozenset(sections), answerable,
                    note=note if isinstance(note, str) else "")


def for_documents(questions: list[Question], documents: list[str],
                  bare: str = "") -> list[Question]:
    """Labels against an index's documents (ids, in order). A label may name
    `document#anchor`; in an index of one document a bare `anchor` is that document's
    and `document#anchor` is read as the bare anchor. In an index of several, every
    label must name a document of the index, unless `bare` names the document bare
    anchors belong to (`eval --labels-for`: a set written for one policy, measured on
    an index that also holds others)."""
    if not questions:
        return questions
    known = set(documents)
    if bare and bare not in known:
        raise EvalDataError(f"--labels-for {bare!r} names no document of the index; "
                            f"documents: {', '.join(documents)}")
    out = []
    for q in questions:
        gold = set()
        for label in q.gold:
            doc, sep, anchor = str(label).rpartition("#")
            if sep and doc not in known:
                raise EvalDataError(f"label {label!r} (question {q.text[:60]!r}) names no "
                                    f"document of the index; documents: {', '.join(documents)}")
            if len(documents) == 1:
                gold.add(anchor if sep else label)
            elif not sep and bare:
                gold.add(f"{bare}#{label}")
            elif not sep:
                raise EvalDataError(
                    f"label {label!r} (question {q.text[:60]!r}) names no document; the index "
                    f"holds several, so write document#anchor or give --labels-for DOCUMENT "
                    f"({', '.join(documents)})")
            else:
                gold.add(label)
        out.append(replace(q, gold=frozenset(gold)))
    return out


def load_policyqa(path: Path, limit: int | None = None) -> list[PolicyDoc]:
    """PolicyQA/SQuAD JSON: each policy rebuilt from its paragraphs in `index` order
    ("# title", blank line, paragraphs separated by blank lines); each distinct
    question with answers, gold = the paragraphs whose qas hold it with answers.
    `limit` caps the number of questions over all policies."""
    try:
        data = json.loads(_read_text(path))
        docs, budget = [], limit
        for entry in data["data"]:
            if budget is not None and budget <= 0:
                break
            doc = _policy_doc(entry, budget)
            docs.append(doc)
            budget = None if budget is None else budget - len(doc.questions)
    except json.JSONDecodeError as exc:
        raise EvalDataError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EvalDataError(
            f"{path} is not PolicyQA/SQuAD JSON (data[].title, data[].paragraphs[]"
            f".index/.context/.qas): {type(exc).__name__} {exc}") from None
    docs = [d for d in docs if d.questions]
    if not docs:
        raise EvalDataError(f"{path} holds no answered questions")
    return docs


def _policy_doc(entry: dict, limit: int | None) -> PolicyDoc:
    title = str(entry["title"]).strip() or "Privacy Policy"
    paragraphs = sorted(entry["paragraphs"], key=lambda p: int(p["index"]))
    contexts = [" ".join(str(p["context"]).split()) for p in paragraphs]
    gold: dict[str, set[int]] = {}
    for position, paragraph in enumerate(paragraphs):
        for qa in paragraph["qas"]:
            if qa.get("answers"):
                gold.setdefault(" ".join(str(qa["question"]).split()), set()).add(position)
    items = list(gold.items())[:limit] if limit is not None else list(gold.items())
    questions = tuple(Question(q, frozenset(g), True, group=title) for q, g in items)
    text = f"# {title}\n\n" + "\n\n".join(contexts) + "\n"
    return PolicyDoc(title, text, tuple(Located.of(c) for c in contexts), questions)
