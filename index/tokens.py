"""Each chunk's words in context: the token vectors late interaction reads.

A unit's vector is the mean of its tokens' vectors, so it blurs which words matched: a
question about "the domain name I connect from" and a sentence about "the site I came
from" average to something close. Late interaction (ColBERT's MaxSim) keeps the words:
each of the question's content tokens finds its best match among a chunk's tokens and
the matches are averaged (qa/answering/late.py). The tokens are the content tokens (`is_content`:
no stop words or punctuation) of the chunk's sentences read alone (its `plain` units)
and of its title (its `heading` unit), as the model read them when the index was built,
so they come from the same model runs as the unit vectors.

`TokenTable` holds them chunk after chunk in float16 (half the bytes; cosines move by
about 1e-3) and is saved beside the index as `tokens.npz`. An index saved before it
existed has none; the retriever then builds the table when it first loads the index.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import token_names
from index.runs import TextTokens
from index.split import Chunk
from index.stopwords import STOPWORDS
from index.units import Unit

FILE = "tokens.npz"
KINDS = ("plain", "heading")  # the units whose tokens stand for their chunk


@dataclass(frozen=True, eq=False)
class TokenTable:
    """Token vectors (rows, unit length) of every chunk, chunk after chunk: chunk i's
    are rows starts[i]:starts[i + 1]."""

    vectors: np.ndarray  # tokens x dimension, float16
    starts: np.ndarray  # chunks + 1, int64, starting at 0

    def __post_init__(self) -> None:
        starts = self.starts
        if (starts.ndim != 1 or len(starts) < 1 or starts[0] != 0
                or starts[-1] != len(self.vectors) or np.any(np.diff(starts) < 0)):
            raise ValueError(f"{FILE}: the chunk offsets do not fit the token vectors")

    @property
    def chunks(self) -> int:
        return len(self.starts) - 1

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    @functools.cached_property
    def full(self) -> np.ndarray:
        """All rows in float32, made once when first asked for (products in float16
        are slow); a large table is never copied whole (`rows`)."""
        return self.vectors.astype(np.float32)

    def rows(self, chunk: int) -> np.ndarray:
        """One chunk's rows in float32: a view of `full` once it exists, else
        converted on the spot."""
        a, b = int(self.starts[chunk]), int(self.starts[chunk + 1])
        if "full" in self.__dict__:
            return self.full[a:b]
        return self.vectors[a:b].astype(np.float32)

    def part(self, first: int, end: int) -> TokenTable:
        """The table of chunks first..end-1 (a document's, when an index is rebuilt)."""
        a, b = int(self.starts[first]), int(self.starts[end])
        return TokenTable(self.vectors[a:b], self.starts[first:end + 1] - a)

    def save(self, folder: Path) -> Path:
        path = Path(folder) / FILE
        with path.open("wb") as fh:
            np.savez(fh, vectors=self.vectors, starts=self.starts)
        return path


def join(tables: Sequence[TokenTable]) -> TokenTable:
    """Tables of consecutive chunk ranges as one."""
    vectors = [t.vectors for t in tables]
    starts = [np.zeros(1, np.int64)]
    offset = 0
    for t in tables:
        starts.append(t.starts[1:] + offset)
        offset += len(t.vectors)
    dim = next((v.shape[1] for v in vectors if v.ndim == 2 and len(v)), 0)
    rows = [v.reshape(-1, dim) for v in vectors if v.size]  # a table may hold no tokens
    return TokenTable(np.vstack(rows).astype(np.float16) if rows
                      else np.zeros((0, dim), np.float16), np.concatenate(starts))


def token_units(units: Sequence[Unit]) -> list[int]:
    """Positions of the units whose tokens the table keeps (KINDS), in unit order."""
    return [j for j, u in enumerate(units) if u.kind in KINDS]


def is_content(piece: str) -> bool:
    """Whether a token counts: a word piece, or a whole word that is not a stop word
    or punctuation."""
    word = piece.lstrip("#")
    return word.isalnum() and (piece.startswith("##") or word.lower() not in STOPWORDS)


def content_rows(tokens: TextTokens, names: Sequence[str]) -> np.ndarray:
    """The vectors of a text's content tokens (all of them when it has none); `names`
    are the model's tokens by id (index/embed.py token_names)."""
    keep = [r for r, i in enumerate(tokens.ids) if is_content(names[int(i)])]
    return tokens.vectors[keep] if keep else tokens.vectors


def table_of(chunks: Sequence[Chunk], units: Sequence[Unit],
             tokens: dict[int, TextTokens], dimension: int,
             names: Sequence[str]) -> TokenTable:
    """The table from the TextTokens of each kept unit (by unit position): their
    content tokens."""
    per_chunk: list[list[np.ndarray]] = [[] for _ in chunks]
    for j in token_units(units):
        per_chunk[units[j].chunk].append(content_rows(tokens[j], names))
    rows = [np.vstack(parts) if parts else np.zeros((0, dimension), np.float32)
            for parts in per_chunk]
    starts = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    matrix = np.vstack(rows) if rows else np.zeros((0, dimension), np.float32)
    return TokenTable(matrix.astype(np.float16), starts)


def embed_table(chunks: Sequence[Chunk], units: Sequence[Unit], embedder: Any) -> TokenTable:
    """Embed the kept units' texts for their tokens (an index saved without a table)."""
    kept = token_units(units)
    _, found = embedder.encode_tokens([units[j].embed_text(chunks[units[j].chunk])
                                       for j in kept])
    return table_of(chunks, units, dict(zip(kept, found, strict=True)), embedder.dimension,
                    token_names(embedder))


def load_table(folder: Path, chunks: int, dimension: int) -> TokenTable | None:
    """The table saved in `folder`, None when there is none; ValueError when it does
    not fit the index (`chunks`, `dimension`)."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        table = TokenTable(np.asarray(data["vectors"], dtype=np.float16),
                           np.asarray(data["starts"], dtype=np.int64))
    if table.chunks != chunks or (len(table.vectors) and table.dimension != dimension):
        raise ValueError(f"{FILE} holds tokens of {table.chunks} chunks of dimension "
                         f"{table.dimension}, the index {chunks} of dimension {dimension}")
    return table
