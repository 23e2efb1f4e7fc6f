"""The documents `policy-qa tune` trains and checks on, and the deterministic held-out
split.

A `Document` is one corpus: its passages with a label each (an anchor, or a paragraph
number), the training pairs (question -> acceptable labels) and the evaluation
queries (question -> gold labels, answerable or not). A `Source` is one file read into
documents (see `qa.tuning.sources`); a `Split` is what is trained on and what is held out.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
