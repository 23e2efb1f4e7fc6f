"""The systems an evaluation compares, behind one interface: questions in, for each
an answer with ranked passages (text + section anchors + score) and a confidence.

- `OursSystem`: the product's Service, untouched (the system under test).
- `BM25System`: rank_bm25's BM25Okapi over the same chunks (with their titles, as
  the index embeds them) on plain words; whole chunks as quotes; confidence = the
  best BM25 score.
- `TutorialSystem`: what tutorials build: RecursiveCharacterTextSplitter(1000, 200)
  over the raw policy text, the same embedding model, FAISS IndexFlatIP; whole chunks
  as quotes; confidence = the best cosine. A chunk carries the anchors of every
  section it overlaps, so it spends one place per section in anchor-based scoring.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter
from rank_bm25 import BM25Okapi

from index.embed import Embedder
from index.split import Chunk
from index.store import PolicyIndex
from index.units import chunk_text
from qa.evaluation.metrics import Alternatives
from qa.normalize import words
from qa.records import Passage
from qa.service import Service

TOP_K = 10


@dataclass(frozen=True)
class SystemAnswer:
    question: str
    confidence: float
    passages: tuple[Passage, ...]
    resolved: bool | None = None  # the system's own decision, when it makes one
    places: tuple[tuple[Hashable, ...], ...] = ()  # per passage, the places it counts for

    def __post_init__(self) -> None:
        if not self.places:
            object.__setattr__(self, "places", tuple((p.anchor,) for p in self.passages))


class System(Protocol):
    name: str

    def answer_many(self, questions: Sequence[str]) -> list[SystemAnswer]: ...


class OursSystem:
    """The Service as shipped; asked for up to TOP_K passages so hit@k can reach 10."""

    name = "ours"

    def __init__(self, service: Service) -> None:
        self.service = service

    def answer_many(self, questions: Sequence[str]) -> list[SystemAnswer]:
        index = self.service.index
        chunks = {(index.document_of(c).id, c.anchor): c for c in index.chunks}
        out = []
        for a in self.service.ask_many(list(questions)):
            places = []
            for p in a.passages:
                doc = p.document.id if p.document else index.documents[0].id
                places.append((place(index, chunks[(doc, p.anchor)]),))
            out.append(SystemAnswer(a.question, a.confidence, a.passages, a.resolved,
                                    places=tuple(places)))
        return out


def place(index: PolicyIndex, chunk: Chunk) -> Hashable:
    """Where a chunk is, as labels name it: its anchor, or `document#anchor` in an index
    of several documents; a paragraph with its own id is one place known by that id and
    by its section's anchor (labels name either)."""
    labels = [chunk.anchor]
    if chunk.section_anchor != chunk.anchor:
        labels.append(chunk.section_anchor)
    if len(index.documents) > 1:
        doc = index.document_of(chunk).id
        labels = [f"{doc}#{label}" for label in labels]
    return labels[0] if len(labels) == 1 else Alternatives(labels)


def _passage(text: str, anchor: str, score: float) -> Passage:
    """A baseline's passage: the whole chunk as its quote, no link."""
    return Passage(section="", anchor=anchor, url="", quote=text, score=float(score))


def bm25_tokens(text: str) -> list[str]:
    """The plain lower-case words (`qa.normalize.words`), not the product's stemmed
    content words: the baseline is BM25 as tutorials set it up, without stop words or
    stemming, so it measures what the product's own choices add."""
    return words(text)


class BM25System:
    name = "bm25"

    def __init__(self, index: PolicyIndex) -> None:
        self.chunks = index.chunks
        self.places = [place(index, c) for c in index.chunks]
        self._bm25 = BM25Okapi([bm25_tokens(chunk_text(c)) or ["_"] for c in self.chunks])

    def answer_many(self, questions: Sequence[str]) -> list[SystemAnswer]:
        out = []
        for question in questions:
            scores = np.asarray(self._bm25.get_scores(bm25_tokens(question)), dtype=float)
            order = np.argsort(-scores, kind="stable")[:TOP_K]
            passages = tuple(_passage(self.chunks[i].text, str(self.places[i]), scores[i])
                             for i in order)
            out.append(SystemAnswer(question, float(scores[order[0]]) if len(order) else 0.0,
                                    passages, places=tuple((self.places[i],) for i in order)))
        return out


def tutorial_splitter() -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
                                          add_start_index=True)


def covered(start: int, end: int, chunks: Sequence[Chunk]) -> list[Chunk]:
    """The chunks a span of the policy source overlaps, in order; a span over no section
    text (a heading, front matter) gets the chunk it starts in."""
    found = [c for c in chunks if c.start < end and start < c.end]
    if not found and chunks:
        before = [c for c in chunks if c.start <= start]
        found = [before[-1] if before else chunks[0]]
    return found


class TutorialSystem:
    name = "tutorial"

    def __init__(self, texts: Sequence[str], anchors: Sequence[tuple[str, ...]],
                 vectors: faiss.Index, embedder: Embedder) -> None:
        self.texts = list(texts)
        self.anchors = [tuple(a) for a in anchors]
        self.vectors = vectors
        self.embedder = embedder

    @classmethod
    def build(cls, index: PolicyIndex, embedder: Embedder) -> TutorialSystem:
        """Split the raw policy source (the text the index was built from), each
        document on its own; anchors come from the index's section offsets."""
        texts: list[str] = []
        anchors: list[tuple[str, ...]] = []
        for doc in index.documents:
            own = [c for c in index.chunks if index.document_of(c).id == doc.id]
            for piece in tutorial_splitter().create_documents([index.source[doc.start:doc.end]]):
                start = doc.start + piece.metadata["start_index"]
                found = covered(start, start + len(piece.page_content), own)
                texts.append(piece.page_content)
                anchors.append(tuple(dict.fromkeys(place(index, c) for c in found)))
        vectors = embedder.encode(texts)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        return cls(texts, anchors, flat, embedder)

    def save(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.vectors, str(out / "tutorial.faiss"))
        rows = [{"text": t, "anchors": list(a)} for t, a in zip(self.texts, self.anchors,
                                                                 strict=True)]
        (out / "tutorial.json").write_text(json.dumps(rows), encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: Path, embedder: Embedder) -> TutorialSystem:
        rows = json.loads((path / "tutorial.json").read_text(encoding="utf-8"))
        vectors = faiss.read_index(str(path / "tutorial.faiss"))
        anchors = [tuple(Alternatives(a) if isinstance(a, list) else a for a in r["anchors"])
                   for r in rows]
        return cls([r["text"] for r in rows], anchors, vectors, embedder)

    def answer_many(self, questions: Sequence[str]) -> list[SystemAnswer]:
        if not questions:
            return []
        scores, ids = self.vectors.search(self.embedder.encode(list(questions)),
                                          min(TOP_K, self.vectors.ntotal))
        out = []
        for question, row_scores, row_ids in zip(questions, scores, ids, strict=True):
            found = [(float(s), int(i)) for s, i in zip(row_scores, row_ids, strict=True)
                     if i >= 0]
            passages = tuple(_passage(self.texts[i], str(self.anchors[i][0]), s)
                             for s, i in found)
            out.append(SystemAnswer(question, passages[0].score if passages else 0.0,
                                    passages, places=tuple(self.anchors[i] for _, i in found)))
        return out
