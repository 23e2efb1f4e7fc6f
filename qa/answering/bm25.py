"""BM25 over postings: rank_bm25's Okapi scores, to the bit, without its per-word scan.

`BM25Okapi.get_scores` builds, for every word of the query, a Python list over every
chunk (`doc.get(word)`), then scores all of them: cost chunks x words per question, the
largest part of the lexical signal on a 23-chunk policy and most of it on thousands of
chunks. Here each word's chunks and frequencies are kept once (its postings), and a
word's contribution, the same expression rank_bm25 evaluates, is computed for those
chunks only, on first use, and kept. Chunks without the word get nothing added, which is
what rank_bm25 adds to them (idf x 0); idf and its floor are rank_bm25's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi


class Bm25:
    """`scores(tokens)` equals `BM25Okapi(corpus).get_scores(tokens)` element for element."""

    def __init__(self, corpus: Sequence[Sequence[str]]) -> None:
        okapi = BM25Okapi(corpus)  # its idf and parameters; its per-chunk counts become
        # the postings below and are not kept twice
        self._idf, self._k1, self._b, self._avgdl = okapi.idf, okapi.k1, okapi.b, okapi.avgdl
        self._size = okapi.corpus_size
        self._doc_len = np.array(okapi.doc_len)
        self._postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, freqs in enumerate(okapi.doc_freqs):
            for word, freq in freqs.items():
                docs, counts = self._postings.setdefault(word, ([], []))
                docs.append(i)
                counts.append(freq)
        # word -> (its chunks, its score in each): filled on first use
        self._scored: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """Each chunk's BM25 score for these query tokens (repeats count, as in rank_bm25)."""
        out = np.zeros(self._size)
        for word in tokens:
            scored = self._scored.get(word) or self._score(word)
            if scored is not None:
                docs, values = scored
                out[docs] += values
        return out

    def _score(self, word: str) -> tuple[np.ndarray, np.ndarray] | None:
        posting = self._postings.get(word)
        if posting is None:
            return None
        docs = np.array(posting[0])
        freq = np.array(posting[1])
        k1, b = self._k1, self._b
        values = (self._idf.get(word) or 0) * (
            freq * (k1 + 1) / (freq + k1 * (1 - b + b * self._doc_len[docs] / self._avgdl)))
        self._scored[word] = (docs, values)
        return docs, values
