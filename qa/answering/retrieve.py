"""Retriever: question -> ranked chunks (hits), each with its best sentences.

Scoring is hybrid. Dense: the question's cosine to every unit (each sentence with its
section title, and each whole chunk); a chunk's dense score blends its best sentence
with the chunk as a whole. Lexical: BM25 over the chunks (with their titles, as the
index embeds them) on the stemmed content words of qa/normalize.py, scaled to the best
chunk of the query. Two fusions of the same signals: `Weights` ranks the chunks shown
(chosen for retrieval, leave-one-policy-out on five labelled policies), and `CONFIDENCE`
ranks the evidence the resolved/unresolved decision reads (`Retrieval.basis`: its best
score is the confidence), the fusion the answerability model and the threshold were
fitted on. The ranking's 20 best chunks are then ranked again with late interaction,
the question's words against each chunk's words (qa/answering/late.py). Misspelt words
are first replaced by the policy word they were meant to be (qa/answering/spelling.py);
the Retrieval keeps the question as asked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.embed import Embedder, token_names, vocabulary
from index.split import Chunk
from index.store import PolicyIndex
from index.tokens import TokenTable, content_rows, embed_table
from index.units import UNIT_KINDS, chunk_text, unit_text
from index.vectors import unit_scores as score_units
from qa.answering.bm25 import Bm25
from qa.answering.late import CANDIDATES, maxsim, maxsim_all
from qa.answering.spelling import Speller
from qa.normalize import tokenize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """How a chunk's signals are fused to rank the chunks. Chosen by
    scripts/retrieval_lopo.py on five policies' labelled sets (Korero's dev/train/calib
    sets, not its test set) by mean hit@1 + hit@3, each policy weighing the same; the
    Subscription notice's set and PolicyQA dev were not chosen on (README, Quality).
    Dense signals are cosines in [-1, 1]."""

    sentences: float = 0.3  # mean of the two best sentences, each with its section title
    plain: float = 0.5  # best sentence on its own
    chunk: float = 0.2  # the whole chunk with its title
    heading: float = 0.0  # the section (and sub-section) title alone
    lexical: float = 0.12  # BM25, scaled to the query's best chunk
    tokens: float = 2.0  # late interaction (qa/answering/late.py), on the best CANDIDATES

    @classmethod
    def of(cls, values: Sequence[float] | None) -> Weights:
        """From the `fusion` setting's five or six values, in field order
        (qa/settings.py parse_fusion); None: the shipped weights."""
        return cls() if values is None else cls(*values)


# The decision's evidence: the same signals fused as they were when the answerability
# model (qa/answering/data/answerability.json) and the threshold setting were fitted
# (chosen on Korero's dev set), whichever chunks the ranking shows first.
CONFIDENCE = Weights(sentences=0.2, plain=0.2, chunk=0.4, heading=0.2, lexical=0.04,
                     tokens=0.0)


EVIDENCE = 3  # hits the decision reads (answerability.features: the top one, the top 3)
QUOTE_MIX = 0.5  # a sentence's quote score: titled vs plain cosine
QUOTE_LEXICAL = 0.1  # plus this times the share of question words it contains


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # ranks hits: fused by the retriever's weights, and for the best
    # CANDIDATES blended with `late` (`blend`)
    dense: float
    lexical: float
    sentences: tuple[tuple[int, int, float], ...]  # (start, end, cosine), chunk order
    decision_score: float | None = None  # fused by CONFIDENCE (None: the same as score)
    late: float | None = None  # late interaction (None: not one of the CANDIDATES)

    @property
    def sure(self) -> float:
        """This chunk's score on the decision's scale (what a threshold compares)."""
        return self.score if self.decision_score is None else self.decision_score


@dataclass(frozen=True)
class Retrieval:
    """`vector` is the query's embedding (shared with the rights recognizer). `hits` are
    ranked by the retriever's weights; `evidence`, the decision's, by CONFIDENCE (empty:
    the hits are both)."""

    question: str
    hits: tuple[Hit, ...]
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    evidence: tuple[Hit, ...] = ()

    @property
    def basis(self) -> tuple[Hit, ...]:
        """The hits the resolved/unresolved decision reads, best first."""
        return self.evidence or self.hits

    @property
    def confidence(self) -> float:
        return self.basis[0].score if self.basis else 0.0


class Retriever:
    def __init__(self, index: PolicyIndex, embedder: Embedder, weights: Weights | None = None):
        self.index = index
        self.embedder = embedder
        self.weights = weights or Weights()
        self._bm25 = Bm25([tokenize(chunk_text(c)) or ["_"] for c in index.chunks])
        n = len(index.chunks)
        self._by_kind: dict[str, list[list[int]]] = {
            kind: [[] for _ in range(n)] for kind in UNIT_KINDS}
        for j, unit in enumerate(index.units):
            self._by_kind[unit.kind][unit.chunk].append(j)
        self._groups = {kind: _padded(groups, len(index.units))
                        for kind, groups in self._by_kind.items()}
        self._sentence_tokens = {
            j: set(tokenize(unit_text(index.chunks[u.chunk], "plain", u.start, u.end)))
            for j, u in enumerate(index.units) if u.kind == "sentence"}

    def retrieve(self, question: str, k: int = 10) -> Retrieval:
        return self.retrieve_many([question], k)[0]

    @functools.cached_property
    def speller(self) -> Speller:
        text = "\n".join(chunk_text(c) for c in self.index.chunks)
        return Speller(text, vocabulary(self.embedder))

    def retrieve_many(self, questions: Sequence[str], k: int = 10) -> list[Retrieval]:
        """Embeds all questions in one batch (cheaper per question under load)."""
        return self.retrieve_with(questions, (), k)[0]

    def retrieve_with(self, questions: Sequence[str], also: Sequence[str], k: int = 10
                      ) -> tuple[list[Retrieval], np.ndarray]:
        """`retrieve_many`, with other texts (`also`: words the decision needs) embedded
        in the same model call, one forward pass per request instead of two; their
        vectors are returned beside the retrievals."""
        queries = [self.speller.correct(q) for q in questions]
        rows: list[np.ndarray | None] = [None] * len(queries)  # question content tokens
        every: list[np.ndarray | None] = [None] * len(queries)  # late score of each chunk
        if self.tokens is not None:
            embedded, found = self.embedder.encode_tokens([*queries, *also])
            names = token_names(self.embedder)
            asked = [content_rows(t, names) for t in found[:len(queries)]]
            rows, every = list(asked), list(maxsim_all(asked, self.tokens) or every)
        else:
            embedded = self.embedder.encode([*queries, *also])
        vectors, others = embedded[:len(queries)], embedded[len(queries):]
        scores = score_units(self.index.vectors, vectors)  # index/vectors.py
        out = []
        for question, query, vector, row, words, late in zip(
                questions, queries, vectors, scores, rows, every, strict=True):
            hits, evidence = self._rank(query, row, k, words, late)
            out.append(Retrieval(question, hits, vector, evidence))
        return out, others

    @functools.cached_property
    def tokens(self) -> TokenTable | None:
        """The chunks' token vectors for late interaction: the index's, else embedded
        now (an index saved before it kept them); None when `Weights.tokens` is 0 or
        the embedder gives no tokens."""
        if not self.weights.tokens or not hasattr(self.embedder, "encode_tokens"):
            return None
        if self.index.tokens is not None:
            return self.index.tokens
        log.info("this index was saved without token vectors; embedding them now "
                 "(build it again to keep them)")
        return embed_table(self.index.chunks, self.index.units, self.embedder)

    def _signal(self, kind: str, unit_scores: np.ndarray, top: int = 1) -> np.ndarray:
        """Per chunk: the mean of its `top` (1 or 2) best units of one kind; -1 for a
        chunk with none. One gather over a padded (chunks x units) table."""
        ids, counts = self._groups[kind]
        values = np.append(unit_scores, np.float32(-np.inf))[ids]
        if top == 1 or values.shape[1] < 2:
            best = values.max(axis=1)
        else:
            two = -np.partition(-values, 1, axis=1)[:, :2]
            best = np.where(counts >= 2, (two[:, 0] + two[:, 1]) / np.float32(2), two[:, 0])
        return np.where(counts > 0, best, -1.0).astype(np.float64)

    def signals(self, tokens: list[str], unit_scores: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per chunk, the five signals a `Weights` fuses, in its field order, for a query's
        unit scores and content words (scripts/retrieval_lopo.py reads them too)."""
        return (self._signal("sentence", unit_scores, top=2),
                self._signal("plain", unit_scores), self._signal("chunk", unit_scores),
                self._signal("heading", unit_scores), self._lexical(tokens))

    def _rank(self, question: str, unit_scores: np.ndarray, k: int,
              query_rows: np.ndarray | None = None, every: np.ndarray | None = None
              ) -> tuple[tuple[Hit, ...], tuple[Hit, ...]]:
        """The top k hits by `weights` (the best CANDIDATES ranked again with late
        interaction when `query_rows`, the question's token vectors, are given; `every`:
        each chunk's late score when the caller computed them for a batch), and the top
        EVIDENCE hits by CONFIDENCE."""
        tokens = tokenize(question)
        signals = self.signals(tokens, unit_scores)
        words = set(tokens)
        ranked = fuse(self.weights, signals)
        sure = ranked if self.weights == CONFIDENCE else fuse(CONFIDENCE, signals)
        order, late = self._order(ranked[1], query_rows, every)

        quotes: dict[int, tuple[tuple[int, int, float], ...]] = {}  # once per chunk

        def top(fusion: tuple[np.ndarray, np.ndarray], ids: np.ndarray,
                late: dict[int, float]) -> tuple[Hit, ...]:
            dense, fused = fusion
            out = []
            for i in map(int, ids):
                if i not in quotes:
                    quotes[i] = self._sentences(words, i, unit_scores)
                score = fused[i] if i not in late else blend(self.weights, fused[i], late[i])
                out.append(Hit(self.index.chunks[i], float(score), float(dense[i]),
                               float(signals[4][i]), quotes[i], float(sure[1][i]),
                               late.get(i)))
            return tuple(out)

        evidence = () if sure is ranked else top(
            sure, np.argsort(-sure[1], kind="stable")[:EVIDENCE], {})
        return top(ranked, order[:k], late), evidence

    def _order(self, fused: np.ndarray, query_rows: np.ndarray | None,
               every: np.ndarray | None = None) -> tuple[np.ndarray, dict[int, float]]:
        """Chunks best first by `fused`, the best CANDIDATES ranked again by their
        `blend` with late interaction (returned by chunk)."""
        order = np.argsort(-fused, kind="stable")
        if query_rows is None or self.tokens is None:
            return order, {}
        best = order[:CANDIDATES]
        late = every[best] if every is not None else maxsim(query_rows, self.tokens, best)
        again = np.argsort(-blend(self.weights, fused[best], late), kind="stable")
        return (np.concatenate([best[again], order[CANDIDATES:]]),
                dict(zip(map(int, best), map(float, late), strict=True)))

    def _lexical(self, tokens: list[str]) -> np.ndarray:
        if not tokens:
            return np.zeros(len(self.index.chunks))
        raw = self._bm25.scores(tokens)
        top = raw.max()
        return raw / top if top > 0 else np.zeros_like(raw)

    def _sentences(self, q: set[str], i: int, unit_scores: np.ndarray
                   ) -> tuple[tuple[int, int, float], ...]:
        """Chunk i's sentences with their quote scores, in chunk order."""
        units = self.index.units
        return tuple(
            (units[j].start, units[j].end,
             float(QUOTE_MIX * unit_scores[j] + (1 - QUOTE_MIX) * unit_scores[p])
             + QUOTE_LEXICAL * _overlap(q, self._sentence_tokens[j]))
            for j, p in zip(self._by_kind["sentence"][i], self._by_kind["plain"][i], strict=True))


def fuse(w: Weights, signals: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(dense, fused) per chunk: `Retriever.signals` weighted by `w` (the four dense
    ones make `dense`; BM25 is added to it)."""
    dense = (w.sentences * signals[0] + w.plain * signals[1] + w.chunk * signals[2]
             + w.heading * signals[3])
    return dense, dense + w.lexical * signals[4]


def blend(w: Weights, fused: Any, late: Any) -> Any:
    """A candidate's score: its fused score and its late interaction weighted by
    `w.tokens`, over 1 + `w.tokens` so it stays on the fused score's scale (what the
    shown-passage margin, qa/answering/relevance.py, reads)."""
    return (fused + w.tokens * late) / (1.0 + w.tokens)


def _padded(groups: list[list[int]], n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Each chunk's unit ids as one row, padded with `n_units` (a -inf score), and
    how many each has."""
    width = max([1, *map(len, groups)])
    table = np.full((len(groups), width), n_units, dtype=np.int64)
    for i, ids in enumerate(groups):
        table[i, :len(ids)] = ids
    return table, np.array([len(ids) for ids in groups])


def _overlap(question: set[str], sentence: set[str]) -> float:
    """Share of the question's content words that the sentence contains."""
    return len(question & sentence) / len(question) if question else 0.0
