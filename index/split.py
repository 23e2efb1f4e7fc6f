"""Split a policy into chunks: sections, then sub-sections, then
RecursiveCharacterTextSplitter pieces for long ones. Policies without headings become
paragraphs under the document title.

Sections come from langchain's MarkdownHeaderTextSplitter (`#`, `##`, `###`); bold
lead-ins (`**Log file information**`) and minor headings (`####`…) start sub-sections.
Every heading of any level has its own anchor, the source's id (`{#id}`, `{: #id }`,
`<a id>`) or else its github-slugger slug: a chunk under a `####` links to the `####`.
A paragraph or list item with an id (`{: #cookies }`) starts a sub-section, and chunks
from there on link to it (`section_anchor` keeps the heading's). The splitter only
sees line markers, never the text, so it cannot change a line we then fail to find.
Chunks keep `start`/`end` offsets into the source, `text` is the reader's text of that
span, a PDF chunk its page, and every word of the body lands in some chunk.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from langchain_text_splitters import MarkdownHeaderTextSplitter

from index.anchors import slugify, unique_slug
from index.chunks import Chunk
from index.pieces import section_pieces
from index.policy import Policy
from index.tables import chunk_headers, header_rows
from index.text import (
    SECTION_LEVELS,
    block_id,
    heading_id,
    heading_level,
    heading_lines,
    is_attribute_line,
    lead_in,
    render_block,
    render_inline,
)

HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
_MARK = "\u27e6{}\u27e7"  # ⟦n⟧: line n of the policy body
_MARKER = re.compile("\u27e6(\\d+)\u27e7")
_Minor = dict[int, tuple[str, str]]  # source offset of a minor heading -> (title, anchor)


@dataclass(frozen=True)
class SplitSettings:
    chunk_size: int = 1000
    chunk_overlap: int = 0
    # "auto": paragraphs when the policy has no sections below its title (a flat
    # document), else sections (paragraphs merged up to chunk_size); or force either
    granularity: str = "auto"

    def to_dict(self) -> dict:
        return {"splitter": "markdown-headers+ids+lead-ins+paragraphs+recursive", **asdict(self)}


@dataclass(frozen=True)
class _Span:
    section: str
    anchor: str
    start: int
    end: int


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    title: str | None  # a lead-in's or minor heading's title
    bare: bool  # nothing but the title
    anchor: str | None = None  # the block's own id


def split_policy(policy: Policy, settings: SplitSettings | None = None) -> list[Chunk]:
    """All chunks of a policy, in document order, ids c0000, c0001, …"""
    settings = settings or SplitSettings()
    source = policy.source
    spans, minor = _section_spans(policy) if policy.is_markdown else ([], {})
    by_paragraph = not spans
    if by_paragraph:
        spans = [_Span(policy.title, slugify(policy.title) or "section", policy.body_start,
                       len(source))]
    paragraphs = by_paragraph or settings.granularity == "paragraph" or (
        settings.granularity == "auto" and len({sp.anchor for sp in spans}) < 2)
    chunks: list[Chunk] = []
    rows = header_rows(source)  # table rows' column labels
    for span in spans:
        for sub, s, e, head, anchor in _subsections(source, span, minor):
            units = _paragraph_units(source, s, e, minor) if paragraphs else [(s, e)]
            size, overlap = settings.chunk_size, settings.chunk_overlap
            pieces = [p for u in units
                      for p in section_pieces(source, *u, size, overlap, head)]
            for start, end in _merge_bare(source, pieces, sub, minor):
                text = render_block(source[start:end])
                if not text or text == sub or all(
                        b.start in minor for b in _blocks(source, start, end, minor)):
                    continue  # never a heading-only chunk
                if by_paragraph and not chunks and text == span.section:
                    continue  # the title line of a plain-text policy
                page = bisect.bisect_right(policy.pages, start) or None if policy.pages else None
                chunks.append(Chunk(f"c{len(chunks):04d}", span.section, sub, anchor, text,
                                    start, end, page, span.anchor,
                                    page_turns=_page_turns(source, start, end, policy.pages),
                                    headers=chunk_headers(source, start, end, text, rows)))
    return chunks


def _page_turns(source: str, start: int, end: int, pages: tuple[int, ...]) -> tuple[int, ...]:
    """Where in the chunk's text (render_block of source[start:end]) each page after its
    first begins: a page starts at a block (index/formats/pdf.py), so the text of the
    source before it renders to a prefix of the chunk's text."""
    return tuple(len(render_block(source[start:b])) for b in pages if start < b < end)


def _section_spans(policy: Policy) -> tuple[list[_Span], _Minor]:
    """Sections (h1-h3) via MarkdownHeaderTextSplitter, and the minor headings (h4-h6)
    by source offset, as (title, anchor). No sections when the policy has no h1-h3."""
    body, lines = policy.body, policy.body.split("\n")
    starts = list(itertools.accumulate((len(ln) + 1 for ln in lines), initial=policy.body_start))
    shadow = [_MARK.format(i) if ln.strip() else "" for i, ln in enumerate(lines)]
    seen: dict[str, int] = {}
    titles: dict[int, tuple[str, str]] = {}  # line -> (heading text, anchor)
    minor: _Minor = {}
    for number, level, text in heading_lines(body):
        own = heading_id(lines[number], lines[number + 1] if number + 1 < len(lines) else "")
        if own:
            seen[own] = seen.get(own, 0) + 1
        titles[number] = (text or policy.title, own or unique_slug(text, seen))
        if level <= SECTION_LEVELS:
            shadow[number] = "#" * level + " " + _MARK.format(number)
            if not heading_level(lines[number]):
                shadow[number + 1] = ""  # a setext heading's underline
        elif text:
            minor[starts[number]] = titles[number]
    if not any(ln.startswith("#") for ln in shadow):
        return [], minor
    splitter = MarkdownHeaderTextSplitter(HEADERS, strip_headers=True)
    spans: list[_Span] = []
    for doc in splitter.split_text("\n".join(shadow)):
        numbers = [int(n) for n in _MARKER.findall(doc.page_content)]
        if not numbers:
            continue
        owner = next((doc.metadata[key] for _, key in reversed(HEADERS)
                      if doc.metadata.get(key)), None)
        if owner is None:  # text before the first heading
            section, anchor = policy.title, slugify(policy.title) or "section"
        else:
            section, anchor = titles[int(_MARKER.search(owner).group(1))]
        first, last = min(numbers), max(numbers)
        end = starts[last] + len(lines[last].rstrip())
        spans.append(_Span(section, anchor, starts[first], end))
    return spans, minor


def _blocks(source: str, start: int, end: int, minor: _Minor) -> Iterator[_Block]:
    """Paragraphs (blank-line separated) and minor heading lines of a span, with their
    title and own id. A paragraph that is only an attribute list gives its id to the
    block after it."""
    para: list[int] = []  # [start, end] of the paragraph being read
    pending: list[str] = []

    def flush() -> Iterator[_Block]:
        if para:
            text = source[para[0] : para[1]]
            if all(is_attribute_line(ln) for ln in text.split("\n")):
                pending[:] = [x for x in (heading_id(text),) if x]
            else:
                found = lead_in(text)
                bare = found is not None and not render_inline(found[1])
                anchor = block_id(text) or (pending.pop() if pending else None)
                yield _Block(para[0], para[1], found[0] if found else None, bare, anchor)
                pending.clear()
            para.clear()

    pos = start
    for line in source[start:end].split("\n"):
        line_start, pos = pos, pos + len(line) + 1
        line_end = line_start + len(line.rstrip())
        if not line.strip():
            yield from flush()
        elif line_start in minor:
            yield from flush()
            title, anchor = minor[line_start]
            yield _Block(line_start, line_end, title, True, anchor)
        elif para:
            para[1] = line_end
        else:
            para.extend((line_start, line_end))
    yield from flush()


def _subsections(source: str, span: _Span, minor: _Minor
                 ) -> Iterator[tuple[str | None, int, int, int | None, str]]:
    """(subsection, start, end, head, anchor): text before the first lead-in belongs
    to the section itself; each lead-in (or minor heading) starts a sub-section that
    runs to the next. A title with nothing under it before the next title is no
    sub-section, but a minor heading's anchor still starts one there. A block with an
    id of its own starts a sub-section too (keeping the current title); the anchor is
    the latest id. `head` is where a title on a line of its own ends (None for an
    inline lead-in)."""
    blocks = list(_blocks(source, span.start, span.end, minor))
    title: str | None = None
    start, head, has_text, anchor = span.start, None, False, span.anchor
    for i, block in enumerate(blocks):
        titled = block.title is not None and not (block.bare and (
            i + 1 == len(blocks) or blocks[i + 1].title is not None))
        anchored = block.anchor is not None and (not block.bare or i + 1 < len(blocks))
        if not titled and not anchored:
            has_text = has_text or not block.bare
            continue
        if has_text and block.start > start:
            yield title, start, block.start, head, anchor
            start, head = block.start, None
        # else: only titles so far; they open this sub-section rather than be a chunk
        if titled:
            title, head = block.title, block.end if block.bare else None
        has_text = not block.bare
        anchor = block.anchor or anchor
    yield title, start, span.end, head, anchor


def _paragraph_units(source: str, start: int, end: int, minor: _Minor) -> list[tuple[int, int]]:
    """Paragraphs, each a unit of its own, except that a bare title or a paragraph
    that introduces what follows ("…your personal information:") stays with the
    paragraph after it, so a list is never quoted without its lead."""
    out: list[tuple[int, int]] = []
    joins = False
    for block in _blocks(source, start, end, minor):
        if out and joins:
            out[-1] = (out[-1][0], block.end)
        else:
            out.append((block.start, block.end))
        text = source[block.start : block.end].rstrip()
        joins = block.bare or render_block(text).endswith(":")
    return out


def _merge_bare(source: str, pieces: list[tuple[int, int]], title: str | None, minor: _Minor
                ) -> list[tuple[int, int]]:
    """Join a piece that is nothing but titles (lead-ins or minor headings with no
    text of their own) or renders to nothing to the piece after it (the last one to
    the piece before it)."""
    out: list[tuple[int, int]] = []
    carry: int | None = None
    for start, end in pieces:
        if carry is not None:
            start, carry = carry, None
        text = render_block(source[start:end])
        if not text or text == title or all(b.bare for b in _blocks(source, start, end, minor)):
            carry = start
            continue
        out.append((start, end))
    if carry is not None:
        if out:
            out[-1] = (out[-1][0], pieces[-1][1])
        else:
            out.append((carry, pieces[-1][1]))
    return out
