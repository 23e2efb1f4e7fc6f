"""Retrieval units and the one text each is embedded as.

A unit is one embedded text of a chunk. Kinds: `sentence` (a sentence prefixed with its
section title, so it carries its context), `plain` (the sentence alone), `chunk` (the
whole chunk with its title) and `heading` (the section and sub-section title alone).
A unit points back to its chunk and to a span of the chunk's text.

`unit_text` is the only place these texts are written (`Unit.embed_text` adds to
sentences the column labels of table cells, index/tables.py, and the glosses of contact
details, index/glosses.py). The index embeds them, the lexical scorers (retrieval's BM25
and the BM25 baseline) read `chunk_text`, and tuning trains on `chunk_text` as a chunk's
passage: if it changes, all of them change together, so a tuned model never learns a
text the index does not embed.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.glosses import glossed
from index.sentences import sentence_spans
from index.split import Chunk
from index.tables import labelled

UNIT_KINDS = ("sentence", "plain", "chunk", "heading")
GLOSSED = ("sentence", "plain")  # the kinds embedded with glosses and column labels


def title(chunk: Chunk) -> str:
    """The section title, followed by the sub-section title when there is one."""
    return chunk.section if not chunk.subsection else f"{chunk.section} {chunk.subsection}"


def unit_text(chunk: Chunk, kind: str, start: int = 0, end: int | None = None) -> str:
    """The text a unit of `kind` over `chunk.text[start:end]` is embedded as."""
    if kind not in UNIT_KINDS:
        raise ValueError(f"unit kind must be one of {', '.join(UNIT_KINDS)}; got {kind!r}")
    if kind == "heading":
        return title(chunk)
    text = chunk.text[start:end]
    return text if kind == "plain" else f"{title(chunk)}: {text}"


def chunk_text(chunk: Chunk) -> str:
    """The whole chunk with its title: its `chunk` unit, a lexical document, a passage."""
    return unit_text(chunk, "chunk")


@dataclass(frozen=True)
class Unit:
    """One embedded text: a span of a chunk's text, and its kind (see UNIT_KINDS)."""

    chunk: int  # position in PolicyIndex.chunks
    start: int  # span of the chunk's text
    end: int
    kind: str = "sentence"

    def embed_text(self, chunk: Chunk) -> str:
        """What the model reads: `unit_text`, a sentence with its table cells' column
        labels (index/tables.py) and the glosses of the contact details it holds
        (index/glosses.py); neither is ever shown, quoted or scored lexically."""
        text = unit_text(chunk, self.kind, self.start, self.end)
        if self.kind not in GLOSSED:
            return text
        if chunk.headers:  # the first column's label (what the table lists) only on
            # sentences: on a plain unit, the heaviest signal ranking chunks, a label
            # every row shares lifts the whole table for questions that name it
            span = labelled(chunk.text, chunk.headers, self.start, self.end,
                            first=self.kind == "sentence")
            text = span if self.kind == "plain" else f"{title(chunk)}: {span}"
        return glossed(text)


def make_units(chunks: list[Chunk]) -> list[Unit]:
    """Every chunk's units: its sentences titled, then plain, then the chunk, then its
    heading (a sentence that is the sub-section title is left to the heading unit)."""
    units: list[Unit] = []
    for i, chunk in enumerate(chunks):
        spans = [(s, e) for s, e in sentence_spans(chunk.text)
                 if chunk.text[s:e] != chunk.subsection]  # the title is the heading unit
        units.extend(Unit(i, s, e, "sentence") for s, e in spans)
        units.extend(Unit(i, s, e, "plain") for s, e in spans)
        units.append(Unit(i, 0, len(chunk.text), "chunk"))
        units.append(Unit(i, 0, 0, "heading"))
    return units
