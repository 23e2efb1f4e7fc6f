"""Re-building an index without re-embedding what did not change.

A document whose bytes (SHA-256), model and splitter settings match the index being
replaced keeps its stored vectors, provided the texts its units are embedded as are
exactly the stored ones (a safety net against a changed splitter or title).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Stored:
    """The vectors of an earlier index, by document. `index` is a loaded PolicyIndex
    (duck-typed: manifest, chunks, units, vectors, documents), or None."""

    def __init__(self, index: Any | None, model: str, splitter: dict) -> None:
        self.index = index
        self.fits = (index is not None and index.manifest.get("model") == model
                     and index.manifest.get("splitter") == splitter)
        self._ranges: dict[str, tuple[str, int, int]] = {}
        if self.fits:
            ranges = {i: c.document for i, c in enumerate(index.chunks)}
            first: dict[str, int] = {}
            last: dict[str, int] = {}
            only = index.documents[0].id if len(index.documents) == 1 else ""
            for j, unit in enumerate(index.units):
                doc = ranges[unit.chunk] or only
                first.setdefault(doc, j)
                last[doc] = j + 1
            for doc in index.documents:
                if doc.id in first:
                    self._ranges[doc.id] = (doc.sha256, first[doc.id], last[doc.id])

    def vectors(self, document: str, sha256: str, texts: list[str]) -> np.ndarray | None:
        """The stored vectors for `texts` of `document`, or None when they must be embedded."""
        found = self._ranges.get(document)
        if not self.fits or found is None or found[0] != sha256:
            return None
        _, a, b = found
        index = self.index
        old = [index.units[j].embed_text(index.chunks[index.units[j].chunk]) for j in range(a, b)]
        if old != texts:
            return None
        return index.vectors.reconstruct_n(a, b - a)

    def tokens(self, document: str) -> Any | None:
        """The earlier index's token table (index/tokens.py) for `document`'s chunks,
        when its vectors were reused (`vectors`) and that index has one; else None."""
        found = self._ranges.get(document)
        table = getattr(self.index, "tokens", None)
        if not self.fits or found is None or table is None:
            return None
        _, a, b = found
        units = self.index.units
        return table.part(units[a].chunk, units[b - 1].chunk + 1)
