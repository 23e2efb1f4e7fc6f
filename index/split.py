"""Split a policy into chunks: sections, then bold lead-in sub-sections, then
RecursiveCharacterTextSplitter pieces for long ones. Plain-text policies without
headings become paragraphs under the document title.

Every chunk keeps `start`/`end` offsets into the policy source, so every word of the
body can be shown to land in some chunk, and `text` is the reader's text of exactly
that span.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from index.policy import Policy
from index.text import lead_in, render_block, unique_slug

HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class SplitSettings:
    chunk_size: int = 1000
    chunk_overlap: int = 0

    def to_dict(self) -> dict:
        return {"splitter": "markdown-headers+lead-ins+recursive", **asdict(self)}


@dataclass(frozen=True)
class Chunk:
    id: str
    section: str
    subsection: str | None
    anchor: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Span:
    section: str
    anchor: str
    start: int
    end: int


def split_policy(policy: Policy, settings: SplitSettings | None = None) -> list[Chunk]:
    """All chunks of a policy, in document order, ids c0000, c0001, …"""
    settings = settings or SplitSettings()
    spans = _section_spans(policy) if policy.is_markdown else []
    if not spans:
        spans = [_Span(policy.title, unique_slug(policy.title, {}), policy.body_start,
                       len(policy.source))]
    recursive = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        separators=["\n\n", "\n", ". ", " ", ""],
        keep_separator="end",
        add_start_index=True,
    )
    pieces = [
        (span, sub, start, end)
        for span in spans
        for sub, s, e in _subsections(policy.source, span)
        for start, end in _pieces(policy.source, s, e, recursive, plain=not policy.is_markdown)
    ]
    chunks = []
    for span, sub, start, end in pieces:
        text = render_block(policy.source[start:end])
        if text and text != span.section:  # never a heading-only chunk
            chunks.append(Chunk(f"c{len(chunks):04d}", span.section, sub, span.anchor, text,
                                start, end))
    return chunks


def _section_spans(policy: Policy) -> list[_Span]:
    """Sections from MarkdownHeaderTextSplitter, located in the source by their lines."""
    splitter = MarkdownHeaderTextSplitter(HEADERS, strip_headers=True)
    source, cursor, seen = policy.source, policy.body_start, {}
    spans: list[_Span] = []
    anchors: dict[tuple, str] = {}
    for doc in splitter.split_text(policy.body):
        lines = [ln.strip() for ln in doc.page_content.splitlines() if ln.strip()]
        if not lines:
            continue
        start = end = _find(source, lines[0], cursor)
        for line in lines:
            end = _find(source, line, end) + len(line)
        cursor = end
        path = tuple(doc.metadata.get(level) for _, level in HEADERS)
        heading = next((h for h in reversed(path) if h), policy.title)
        if path not in anchors:
            anchors[path] = unique_slug(heading, seen)
        spans.append(_Span(heading, anchors[path], start, end))
    return spans


def _find(source: str, line: str, cursor: int) -> int:
    found = source.find(line, cursor)
    if found < 0:
        raise ValueError(f"splitter changed a line of the policy: {line[:60]!r}")
    return found


def _subsections(source: str, span: _Span) -> Iterator[tuple[str | None, int, int]]:
    """(subsection, start, end): text before the first bold lead-in belongs to the
    section itself; each lead-in starts a sub-section that runs to the next one."""
    title: str | None = None
    start = span.start
    for para_start, paragraph in _paragraphs(source, span.start, span.end):
        found = lead_in(paragraph)
        if found and para_start > start:
            yield title, start, para_start
        if found:
            title, start = found[0], para_start
    yield title, start, span.end


def _paragraphs(source: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    cursor = start
    for match in _PARAGRAPH_BREAK.finditer(source, start, end):
        yield cursor, source[cursor : match.start()]
        cursor = match.end()
    yield cursor, source[cursor:end]


def _pieces(source: str, start: int, end: int, splitter: RecursiveCharacterTextSplitter,
            *, plain: bool) -> Iterator[tuple[int, int]]:
    """Offsets of the pieces of one (sub-)section: paragraphs for plain text, the
    recursive splitter's pieces for long Markdown sections, else the whole span."""
    if plain:
        for para_start, paragraph in _paragraphs(source, start, end):
            if paragraph.strip():
                yield para_start, para_start + len(paragraph.rstrip())
        return
    text = source[start:end]
    if len(text) <= splitter._chunk_size:
        yield start, end
        return
    for doc in splitter.create_documents([text]):
        offset = doc.metadata["start_index"]
        yield start + offset, start + offset + len(doc.page_content)
