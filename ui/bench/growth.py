"""How answering grows with the index: 1, 10 and 100 policies' worth of chunks.

The policies are PolicyQA dev's (20 websites); sizes above that are made of copies of
them under other document ids, whose vectors are the originals' plus a little noise
(so no two units tie). A text is embedded once in the run: where a build reuses
vectors (copies, or policies a smaller size embedded) its build time adds the measured
per-unit embedding time for them instead (`build_s_estimated`).
At each size: build time, which vector index the size chose (index/vectors.py), the
in-process answer latency (cache off), and recall@10 of an HNSW index over the same
vectors against exact search, for the size's own questions.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.documents import Document
from index.embed import Embedder
from index.policy import parse_policy
from index.runs import TextTokens
from index.store import build_documents
from index.vectors import kind, recall_at_k, vector_index
from qa.evaluation.data import load_policyqa
from qa.service import Service
from qa.settings import Settings
from ui.bench.stats import percentiles

NOISE = 0.01  # per dimension, on copies' vectors before renormalising


class CopyingEmbedder(Embedder):
    """The real embedder for texts it has not seen; a noisy copy of the stored vector
    for a text it has (a copied policy). Counts the time and units really embedded."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real.model, real.batch_size)
        self._seen: dict[str, np.ndarray] = {}
        self._tokens: dict[str, TextTokens] = {}
        self._rng = np.random.default_rng(0)
        self.embed_s = 0.0
        self.embedded = 0
        self.copied = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encode_tokens(texts, tokens=False)[0]

    def encode_tokens(self, texts: list[str], *, tokens: bool = True
                      ) -> tuple[np.ndarray, list[TextTokens]]:
        """As `encode`; a copy's tokens are the original's (late interaction reads a
        copied policy as the original)."""
        fresh = [t for t in dict.fromkeys(texts) if t not in self._seen]
        new = set(fresh)
        if fresh:
            started = time.perf_counter()
            vectors, found = (super().encode_tokens(fresh) if tokens
                              else (super().encode(fresh), [None] * len(fresh)))
            for text, vector, words in zip(fresh, vectors, found, strict=True):
                self._seen[text] = vector
                if words is not None:
                    self._tokens[text] = words
            self.embed_s += time.perf_counter() - started
            self.embedded += len(fresh)
        missing = [t for t in dict.fromkeys(texts) if tokens and t not in self._tokens]
        if missing:  # embedded for its vector alone before: its tokens now
            self._tokens.update(zip(missing, super().encode_tokens(missing)[1], strict=True))
        out = np.stack([self._seen[t] for t in texts]) if texts else super().encode([])
        repeats = [i for i, t in enumerate(texts) if t not in new]
        if repeats:
            self.copied += len(repeats)
            noisy = out[repeats] + self._rng.normal(0, NOISE, (len(repeats), out.shape[1]))
            out[repeats] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        return (np.ascontiguousarray(out, dtype=np.float32),
                [self._tokens[t] for t in texts] if tokens else [])


def _documents(path: Path, n: int) -> tuple[list[Document], list[str]]:
    """n documents (PolicyQA's, then copies) and the distinct questions of the originals."""
    docs = load_policyqa(path)
    policies = [parse_policy(d.text, name=d.title) for d in docs]
    out = [Document(f"p{i:03d}", f"{docs[i % len(docs)].title}#{i}", policies[i % len(docs)])
           for i in range(n)]
    questions = list(dict.fromkeys(q.text for d in docs[:n] for q in d.questions))
    return out, questions


def _one_size(path: Path, n: int, copier: CopyingEmbedder, settings: Settings,
              questions: int) -> dict[str, Any]:
    embedder = Embedder(copier.model, copier.batch_size)
    docs, asked = _documents(path, n)
    copied, embed_s = copier.copied, copier.embed_s
    started = time.perf_counter()
    index = build_documents(docs, copier)
    wall = time.perf_counter() - started
    copied = copier.copied - copied
    per_unit = copier.embed_s / max(1, copier.embedded)
    service = Service(settings.replace(cache_size=0), index=index, embedder=embedder)
    _, load_s = _timed(service.warm_up)  # BM25, spelling vocabulary, answerer
    asked = list(itertools.islice(itertools.cycle(asked), questions))
    times = [_timed(lambda q=f"{q} (g{i})": service.ask(q))[1] for i, q in enumerate(asked)]
    matrix = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    vectors = embedder.encode(asked[:100])
    return {
        "policies": n, "copies": max(0, n - len({d.policy.sha256 for d in docs})),
        "chunks": len(index.chunks), "units": len(index.units), "index": kind(index.vectors),
        "build_s": round(wall + copied * per_unit, 3), "build_s_estimated": copied > 0,
        "embed_s_measured": round(copier.embed_s - embed_s, 3),
        "retriever_load_s": round(load_s, 3),
        "latency": percentiles(times),
        "hnsw_recall_at_10": round(recall_at_k(vector_index(matrix, exact_limit=0), matrix,
                                               vectors, k=10), 4),
    }


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def growth(path: Path, embedder: Embedder, settings: Settings, sizes: Sequence[int],
           questions: int) -> dict[str, Any]:
    """Figures per size, and the latency of each size over the smallest."""
    copier = CopyingEmbedder(embedder)  # shared: a policy is embedded once in the run
    runs = {str(n): _one_size(path, n, copier, settings, questions) for n in sizes}
    first = runs[str(sizes[0])]["latency"].get("p50_ms")
    for run in runs.values():
        p50 = run["latency"].get("p50_ms")
        run["p50_vs_smallest"] = round(p50 / first, 3) if p50 and first else None
    return {"sizes": runs, "note": __doc__.split("\n\n")[1].replace("\n", " ")}
