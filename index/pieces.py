"""Cut one (sub-)section into chunk-sized pieces: langchain's
RecursiveCharacterTextSplitter finds the cuts, which are then moved out of links and
emphasis so a quote never starts or ends inside one. Pieces are (start, end) offsets
into the source, trimmed of surrounding whitespace."""

from __future__ import annotations

import functools
import itertools

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.text import inline_spans


@functools.lru_cache(maxsize=16)
def _splitter(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=min(overlap, size // 2),
        separators=["\n\n", "\n", ". ", " ", ""],
        keep_separator="end",
        add_start_index=True,
    )


def section_pieces(source: str, start: int, end: int, size: int, overlap: int = 0,
           head: int | None = None) -> list[tuple[int, int]]:
    """Offsets of the pieces of one (sub-)section: the whole span when it fits, else
    the recursive splitter's pieces, with cuts moved out of links and emphasis. A
    title on a line of its own (ending at `head`) goes with the first piece, which
    is cut shorter to leave it room."""
    text = source[start:end]
    if len(text.strip()) <= size:
        return [trim(source, start, end)] if text.strip() else []
    if head is not None and start < head < end:
        room = max(size - (head - start) - 2, size // 2)
        rest = section_pieces(source, head, end, room, overlap)
        return [(start, rest[0][1]), *rest[1:]] if rest else [trim(source, start, end)]
    splitter = _splitter(size, overlap)
    cuts = [doc.metadata["start_index"] for doc in splitter.create_documents([text])[1:]]
    guarded = inline_spans(text)
    bounds = [0]
    for cut in cuts:
        inside = next(((a, b) for a, b in guarded if a < cut < b), None)
        if inside:
            cut = inside[0] if inside[0] > bounds[-1] else inside[1]
        if bounds[-1] < cut < len(text):
            bounds.append(cut)
    bounds.append(len(text))
    return [trim(source, start + a, start + b) for a, b in itertools.pairwise(bounds)
            if text[a:b].strip()]


def trim(source: str, start: int, end: int) -> tuple[int, int]:
    piece = source[start:end]
    return start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())
