"""Answerability: does the policy answer this question (resolved) or not (unresolved)?

A fixed fused-score threshold does not transfer between policies (issue 14), so the
decision is a small logistic model over signals that are put on one scale per index:

- retrieval signals (`features`): the top fused score, the best sentence's quote score,
  the share of the question's content words found in the three best chunks, and the
  mean over the question's content words of each word's best cosine to a word of the
  policy (so "kids" is covered by "children", "ISO 27001" by nothing);
- a question prior: a linear function of the question's embedding, fitted across
  policies, that knows which kinds of question policies answer at all.

Per index, `calibrate` asks the bank's unanswerable visitor questions (shipped in
data/answerability.json, no labels of the policy) and keeps the mean of
every feature; `decide` measures a question's features from those means.
Weights were fitted on the labelled sets of several policies (scripts/answerability_lopo.py,
which reports leave-one-policy-out figures). One index's decision, wired from these
parts, is qa/answering/decider.py.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.units import chunk_text
from qa.answering.retrieve import Retrieval
from qa.normalize import STOPWORDS, tokenize

SHIPPED = Path(__file__).parent / "data" / "answerability.json"
FEATURES = ("top", "quote", "cover3", "word_cover")
_WORD = re.compile(r"[a-z0-9]+")
Encode = Callable[[list[str]], np.ndarray]


def content_words(text: str) -> list[str]:
    """Lower-case unstemmed content words (each is embedded alone for `word_cover`)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True)
class Evidence:
    """What `features` needs beyond the Retrieval, for one question."""

    query: str  # the question as retrieval scored it (misspellings corrected)
    vector: np.ndarray  # the query's embedding (unit length)
    word_cover: tuple[float, ...]  # per content word of query: best cosine to a policy word


class Lexicon:
    """The policy's words as vectors; turns questions into Evidence. Built once per
    index (embeds the policy's distinct content words: about a second)."""

    def __init__(self, chunk_texts: Sequence[str], encode: Encode,
                 correct: Callable[[str], str] = lambda q: q) -> None:
        self.encode = encode
        self.correct = correct
        words = sorted({w for text in chunk_texts for w in content_words(text)})
        self.words = np.asarray(encode(words)) if words else np.zeros((0, 1), np.float32)
        # question word -> best cosine to a policy word; a policy word is its own best
        # match (unit vectors: 1.0), so only words the policy lacks are ever embedded
        self._policy = {w: 1.0 for w in words}
        self._cover: dict[str, float] = dict(self._policy)

    @classmethod
    def of(cls, retriever: Any) -> Lexicon:
        """From a qa.answering.retrieve.Retriever (its index, embedder and speller)."""
        return cls([chunk_text(c) for c in retriever.index.chunks], retriever.embedder.encode,
                   retriever.speller.correct)

    def unseen(self, questions: Sequence[str]) -> list[str]:
        """The content words of these questions (spelling corrected) not known yet:
        what `evidence_many` would embed, for a caller that embeds them alongside the
        questions in one batch and hands them to `learn`."""
        return self._unseen([self.correct(q) for q in questions])

    def _unseen(self, queries: Sequence[str]) -> list[str]:
        return sorted({w for q in queries for w in content_words(q) if w not in self._cover})

    def learn(self, words: Sequence[str], vectors: np.ndarray | None = None) -> None:
        """Each word's best cosine to a policy word, from one embedding batch (or from
        the words' `vectors` when the caller has embedded them)."""
        if not len(words) or not len(self.words):
            return
        found = np.asarray(self.encode(list(words)) if vectors is None else vectors)
        best = (found @ self.words.T).max(axis=1)
        if len(self._cover) > 50_000 + len(self._policy):
            self._cover = dict(self._policy)
        self._cover.update(zip(words, map(float, best), strict=True))

    def evidence_many(self, questions: Sequence[str],
                      vectors: Sequence[np.ndarray] | None = None) -> list[Evidence]:
        """The questions' Evidence; the queries are embedded unless their `vectors` are
        given (as retrieval embedded them), the words not known yet by `learn`."""
        queries = [self.correct(q) for q in questions]
        self.learn(self._unseen(queries))
        query_vectors = np.asarray(self.encode(queries) if vectors is None else vectors)
        return [Evidence(q, v, tuple(self._cover.get(w, 0.0) for w in content_words(q)))
                for q, v in zip(queries, query_vectors, strict=True)]

    def evidence(self, question: str) -> Evidence:
        return self.evidence_many([question])[0]


def features(retrieval: Retrieval, evidence: Evidence) -> np.ndarray:
    """The raw signals named by FEATURES (pure: depends on its arguments only)."""
    hits = retrieval.basis
    if not hits:
        return np.zeros(len(FEATURES))
    top = hits[0]
    quote = max((s[2] for s in top.sentences), default=top.dense)
    words = set(tokenize(evidence.query))
    found = set().union(*(tokenize(chunk_text(h.chunk)) for h in hits[:3]))
    cover3 = len(words & found) / len(words) if words else 0.0
    cover = float(np.mean(evidence.word_cover)) if evidence.word_cover else 0.0
    return np.array([top.score, quote, cover3, cover])


@dataclass(frozen=True)
class IndexStats:
    """Per index: the mean of each feature over the bank's unanswerable questions. The
    model sees features shifted by it: how far above what this index gives questions
    it cannot answer (also dividing by their spread measured worse in
    scripts/answerability_lopo.py)."""

    mean: tuple[float, ...]
    names: tuple[str, ...] = FEATURES

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "mean": [round(m, 6) for m in self.mean]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexStats:
        names = tuple(data["names"])
        if names != FEATURES or len(data["mean"]) != len(FEATURES):
            raise ValueError(f"answerability stats are for features {names}, not {FEATURES}")
        return cls(tuple(map(float, data["mean"])), names)

    def shift(self, x: np.ndarray) -> np.ndarray:
        return x - np.asarray(self.mean)


class RetrieverLike(Protocol):
    def retrieve_many(self, questions: Sequence[str], k: int = 10) -> list[Retrieval]: ...


def raw_features(retriever: RetrieverLike, lexicon: Lexicon, questions: Sequence[str]
                 ) -> np.ndarray:
    found = retriever.retrieve_many(list(questions))
    evidence = lexicon.evidence_many(list(questions))
    return np.array([features(r, e) for r, e in zip(found, evidence, strict=True)])


def calibrate(retriever: RetrieverLike, bank_questions: Sequence[str],
              lexicon: Lexicon | None = None) -> IndexStats:
    """Build time: the per-index scale, from questions that policies do not answer
    (`shipped_bank()`); no labels of this policy are used."""
    lexicon = lexicon or Lexicon.of(retriever)
    x = raw_features(retriever, lexicon, bank_questions)
    return IndexStats(tuple(map(float, x.mean(0))))


@dataclass(frozen=True)
class Answerability:
    """Logistic model: p = sigmoid(coef . (features - stats.mean) + prior_coef * prior + bias),
    prior = prior_weights . question vector + prior_bias. Resolved when p >= threshold."""

    coef: tuple[float, ...]
    bias: float
    prior_coef: float
    prior_weights: tuple[float, ...]
    prior_bias: float
    threshold: float
    stats: IndexStats | None = None
    model: str = ""  # the embedding model the prior was fitted for

    def prior(self, vector: np.ndarray) -> float:
        if not self.prior_weights:
            return 0.0
        return float(np.dot(np.asarray(self.prior_weights), vector) + self.prior_bias)

    def probability(self, x: np.ndarray, vector: np.ndarray) -> float:
        if self.stats is None:
            raise ValueError("answerability has no index stats; calibrate the index first")
        logit = float(np.dot(self.coef, self.stats.shift(x))) + self.bias
        logit += self.prior_coef * self.prior(vector)
        return float(1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50))))

    def decide(self, retrieval: Retrieval, evidence: Evidence) -> tuple[bool, float]:
        if not retrieval.hits:
            return False, 0.0
        p = self.probability(features(retrieval, evidence), evidence.vector)
        return p >= self.threshold, p

    def with_stats(self, stats: IndexStats) -> Answerability:
        return Answerability(self.coef, self.bias, self.prior_coef, self.prior_weights,
                             self.prior_bias, self.threshold, stats, self.model)

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "coef": [round(c, 6) for c in self.coef],
                "bias": round(self.bias, 6), "prior_coef": round(self.prior_coef, 6),
                "prior_weights": [round(w, 6) for w in self.prior_weights],
                "prior_bias": round(self.prior_bias, 6), "threshold": self.threshold,
                "model": self.model,
                "stats": self.stats.to_dict() if self.stats is not None else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answerability:
        if tuple(data.get("features", FEATURES)) != FEATURES:
            raise ValueError(f"answerability model is for features {data['features']}")
        stats = data.get("stats")
        return cls(tuple(map(float, data["coef"])), float(data["bias"]),
                   float(data["prior_coef"]), tuple(map(float, data["prior_weights"])),
                   float(data["prior_bias"]), float(data["threshold"]),
                   IndexStats.from_dict(stats) if stats else None, str(data.get("model", "")))


@functools.lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def shipped_model(model: str = "all-MiniLM-L6-v2") -> Answerability | None:
    """The shipped cross-policy weights, or None when they were fitted for another
    embedding model (the caller then keeps its fixed threshold). A model `policy-qa
    adapt` made from that one counts as it: see `self_adapted_from`."""
    found = Answerability.from_dict(_shipped()["model"])
    return found if model == found.model or \
        self_adapted_from(model) == found.model else None


def self_adapted_from(model: str) -> str | None:
    """The base of a model folder that `policy-qa adapt` wrote: tuned only on its
    policy's own headings and sentences, with no question pushed away, so its space
    stays close enough to the base's for the base's weights (measured in the README's
    Quality section); None for anything else."""
    manifest = Path(model) / "tune.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sources = data.get("sources") if isinstance(data, dict) else None
    if (not sources or data.get("negatives_per_unanswerable") != 0
            or any(not isinstance(s, dict) or s.get("format") != "self" for s in sources)):
        return None
    return str(data.get("base_model") or "") or None


def shipped_bank() -> list[str]:
    """The bank's generic unanswerable visitor questions, for `calibrate`."""
    return list(_shipped()["bank_unanswerable"])
