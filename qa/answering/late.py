"""Late interaction: a question's words against a chunk's words, each in context.

ColBERT's MaxSim over the packaged model's own token vectors (no other model): each
content token of the question (index/tokens.py `content_rows`: stop words and
punctuation left out, word pieces kept) takes its best cosine among the chunk's content
tokens (index/tokens.py), and the chunk scores the mean. A unit vector is an average,
which blurs which words matched; MaxSim asks whether each word of the question is
there. The retriever blends it, weighted by `Weights.tokens`, with the fused score of
its CANDIDATES best chunks and ranks those again (retrieve.py `blend`;
scripts/retrieval_lopo.py --tokens chose the weight leave one policy out).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.tokens import TokenTable

CANDIDATES = 20  # chunks ranked again: as many as ranking them all, on six labelled sets
FULL = 8192  # tokens: up to this many, one product with the whole table (cheaper than
# twenty small ones); above, the candidates' rows only


def maxsim(query: np.ndarray, table: TokenTable, chunks: Sequence[int]) -> np.ndarray:
    """Per chunk: the mean over the query's rows of the best cosine among its tokens
    (0 for a chunk without tokens or a query without rows)."""
    every = maxsim_all([query], table)
    if every is not None:
        return every[0][np.asarray(chunks, dtype=np.int64)]
    out = np.zeros(len(chunks))
    for n, i in enumerate(chunks):
        rows = table.rows(int(i))
        if len(rows) and len(query):
            out[n] = float((query @ rows.T).max(axis=1).mean())
    return out


def maxsim_all(queries: Sequence[np.ndarray], table: TokenTable) -> list[np.ndarray] | None:
    """Per query, every chunk's late score, from one product of all the queries' rows
    with the whole table (it is read from memory once for a batch of questions, which
    is most of the cost); None when the table holds more than FULL tokens."""
    if len(table.vectors) > FULL:
        return None
    sizes = [len(q) for q in queries]
    if not sum(sizes):
        return [np.zeros(table.chunks) for _ in queries]
    best = _best_per_chunk(table.full @ np.vstack([q for q in queries if len(q)]).T,
                           table.starts)
    out, start = [], 0
    for n in sizes:
        out.append(best[start:start + n].mean(axis=0) if n else np.zeros(table.chunks))
        start += n
    return out


def _best_per_chunk(cosines: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """From tokens x query rows (the table times the rows: the faster product here),
    query rows x chunks: each row's best cosine among each chunk's tokens (0 where a
    chunk has none)."""
    sizes = np.diff(starts)
    best = np.zeros((cosines.shape[1], len(sizes)))
    full = sizes > 0
    if full.any():
        best[:, full] = np.maximum.reduceat(cosines, starts[:-1][full], axis=0).T
    return best
