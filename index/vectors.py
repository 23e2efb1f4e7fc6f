"""The FAISS index over the unit vectors, chosen by size, and the one way to score
every unit against a batch of queries.

Up to `EXACT_LIMIT` vectors the index is exact (`IndexFlatIP`): a query's cosine to
every unit is one matrix product, cheaper than any approximate search at that size
and what retrieval needs anyway (it blends each chunk's best units). Above it the
index is HNSW (`IndexHNSWFlat`, inner product): a query scores only its `APPROX_UNITS`
nearest units, the rest count as -1 (never a chunk's best). `recall_at_k` measures what
the approximation loses against the exact search.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

EXACT_LIMIT = 20_000  # vectors; above this the index is HNSW
HNSW_M = 32  # links per node
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
APPROX_UNITS = 256  # units a query scores in an approximate index


def vector_index(matrix: np.ndarray, *, exact_limit: int = EXACT_LIMIT) -> Any:
    """An index over the rows of `matrix` (unit vectors): exact up to `exact_limit`
    rows, HNSW above."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    dim = matrix.shape[1]
    if len(matrix) <= exact_limit:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(matrix)
    return index


def kind(index: Any) -> str:
    """"exact" or "hnsw" (what bench and health report)."""
    return "exact" if isinstance(faiss.downcast_index(index), faiss.IndexFlat) else "hnsw"


_VIEWS: dict[int, tuple[Any, np.ndarray]] = {}  # id(index) -> (index, its vectors)


def _flat_matrix(index: Any) -> np.ndarray:
    """The stored vectors of a flat index: a view of FAISS's own memory (no copy),
    kept for the last few indexes (finding it costs more than a small search)."""
    held = _VIEWS.get(id(index))
    if held is not None and held[0] is index and len(held[1]) == index.ntotal:
        return held[1]
    flat = faiss.downcast_index(index)
    view = faiss.rev_swig_ptr(flat.get_xb(), index.ntotal * index.d).reshape(
        index.ntotal, index.d)
    while len(_VIEWS) >= 8:
        _VIEWS.pop(next(iter(_VIEWS)))
    _VIEWS[id(index)] = (index, view)
    return view


def unit_scores(index: Any, queries: np.ndarray) -> np.ndarray:
    """(queries x units) cosines: exact for a flat index; for an approximate one the
    `APPROX_UNITS` nearest units of each query, every other unit -1."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    n = index.ntotal
    held = _VIEWS.get(id(index))
    if (held is not None and held[0] is index) or kind(index) == "exact":
        return queries @ _flat_matrix(index).T
    scores, ids = index.search(queries, min(APPROX_UNITS, n))
    out = np.full((len(queries), n), -1.0, dtype=np.float32)
    rows = np.repeat(np.arange(len(queries)), ids.shape[1])
    valid = ids.reshape(-1) >= 0
    out[rows[valid], ids.reshape(-1)[valid]] = scores.reshape(-1)[valid]
    return out


def recall_at_k(approx: Any, matrix: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """Share of each query's exact top-k (over `matrix`) that `approx` also returns
    in its top k, averaged over the queries."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    exact = np.argsort(-(queries @ np.asarray(matrix, dtype=np.float32).T), axis=1)[:, :k]
    _, found = approx.search(queries, k)
    hits = [len(set(e.tolist()) & set(f.tolist())) for e, f in zip(exact, found, strict=True)]
    return float(np.mean(hits) / k) if hits else 1.0
