"""PDF, read from its text layer with pdfplumber (pdfminer.six).

Words are grouped into lines and lines into blocks by their vertical gaps. Headings
are recovered from the font: a block set larger than the body text, or a short bold
block of body size that does not read as a sentence; levels rank the heading styles
(size, then weight), and a numbering prefix ("2.1 …") adds depth within a style. A
bold run opening a paragraph is a lead-in. Page numbers and running headers and
footers are dropped; a word hyphenated across a line break is joined. The offset of
each page's first block is kept, so a chunk knows its page (links: `…pdf#page=N`).
Ruled tables are pipe tables, as an HTML page's (index/formats/pdf_tables.py); a bullet
drawn as a shape (as browsers print lists) starts a list item as a bullet character does.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, replace

from index.errors import PolicyError
from index.formats.common import Converted, escape, guard_line_start, heading, table
from index.formats.pdf_tables import (
    BOLD,
    PdfTable,
    bullet_marks,
    continued,
    inside,
    line_text,
    marked,
    page_tables,
)

MAX_PAGES = 500
_BULLET = re.compile(r"^[•◦▪▫‣●○■□·∙]\s*")
_PAGE_NUMBER = re.compile(r"^\W*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\W*$", re.I)
_NUMBERING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S")
_SENTENCE_END = re.compile(r"[.!?:;,\"”’)]$")


@dataclass(frozen=True)
class _Line:
    page: int
    top: float
    bottom: float
    x0: float
    size: float
    bold: bool  # every word bold
    lead: str  # the bold words opening the line (not the whole line)
    text: str
    table: PdfTable | None = None  # a ruled table, a block of its own


def convert(raw: bytes, name: str) -> Converted:
    lines, title = _read(raw, name)
    if not any(ln.text.strip() for ln in lines):
        raise PolicyError(f"policy {name} is a PDF with no text layer (scanned pages?); "
                          "run OCR first (e.g. ocrmypdf) and load the result")
    blocks = _joined_tables(_blocks(_without_furniture(lines)))
    body = _body_size(lines)
    compounds = _compounds(lines)
    levels = _heading_levels(blocks, body)
    out: list[str] = []
    pages: list[int] = []
    offset = 0
    for block in blocks:
        page = block[0].page
        while len(pages) < page:
            pages.append(offset)
        level = levels.get(id(block))
        if block[0].table:
            text = _table(block[0].table)
        elif level:
            text = heading(level, _join(block, compounds))
        else:
            text = _paragraph(block, compounds)
        turns = (_table_turns(block[0].table, text) if block[0].table
                 else [(line.page, at) for line, at in _page_starts(block, text)])
        for page, at in turns:  # a paragraph or a table that runs on across pages
            while len(pages) < page:
                pages.append(offset + at)
        out.append(text)
        offset += len(text) + 2
    count = max((ln.page for ln in lines), default=1)
    pages += [offset] * (count - len(pages))
    meta = {"title": title} if title else {}
    return Converted("pdf", "\n\n".join(out) + "\n", 0, meta, (0, *pages[1:]))


def _read(raw: bytes, name: str) -> tuple[list[_Line], str]:
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(raw)) as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise PolicyError(f"policy {name} has {len(pdf.pages)} pages; the limit is "
                                  f"{MAX_PAGES}")
            title = pdf.metadata.get("Title")
            lines = [ln for number, page in enumerate(pdf.pages, 1)
                     for ln in _page_lines(page, number)]
    except PolicyError:
        raise
    except Exception as exc:  # pdfminer raises many types for damaged or locked files
        raise _refusal(name, exc) from None
    return lines, title.strip() if isinstance(title, str) else ""


def _refusal(name: str, exc: Exception) -> PolicyError:
    detail = f"{exc!r} {exc.__cause__!r} {exc.__context__!r}".lower()
    if "password" in detail or "encrypt" in detail:
        return PolicyError(f"policy {name} is an encrypted PDF that needs a password; "
                           "save an unprotected copy first")
    return PolicyError(f"policy {name} is a damaged PDF: its binary content cannot be "
                       f"parsed ({type(exc).__name__})")


def _page_lines(page, number: int) -> list[_Line]:
    words = page.extract_words(x_tolerance=1.5, y_tolerance=3, extra_attrs=["fontname", "size"])
    tables, boxes = page_tables(page, number, words)
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if boxes and inside(word, boxes):
            continue
        first = lines[-1][0] if lines else None
        if first and abs(word["top"] - first["top"]) <= 0.5 * first["size"]:
            lines[-1].append(word)
        else:
            lines.append([word])
    marks = bullet_marks(page)
    ordered = [sorted(group, key=lambda w: w["x0"]) for group in lines]
    out = [_line(group, number, marked(group, marks)) for group in ordered]
    out += [_Line(number, t.top, t.bottom, 0.0, t.size, False, "", _table_words(t), t)
            for t in tables]
    return sorted(out, key=lambda ln: ln.top)


def _table_words(found: PdfTable) -> str:
    return " ".join(" ".join(cells) for cells in found.rows)


def _table(found: PdfTable) -> str:
    header = list(found.header) if found.header else None
    return table(header, [list(row) for row in found.rows])


def _table_turns(found: PdfTable, text: str) -> list[tuple[int, int]]:
    """(page, offset in the table's `text`) of each later page's first row: the table is
    written a row a line, after its header lines."""
    lines = text.split("\n")
    head = len(lines) - len(found.rows)
    starts = [sum(len(x) + 1 for x in lines[:head + row]) for row, _ in found.turns]
    return [(page, at) for (row, page), at in zip(found.turns, starts, strict=True)
            if row < len(found.rows)]


def _page_starts(block: list[_Line], text: str) -> list[tuple[_Line, int]]:
    """The block's first line on each later page, with where its words begin in the
    block's `text` (found near where the lines before it end: escaping may add a few
    characters)."""
    out, estimate = [], 0
    for before, line in zip(block, block[1:], strict=False):
        estimate += len(before.text) + 1
        if line.page == before.page or block[0].table:
            continue
        first = line.text.split()[0] if line.text.split() else ""
        at = text.find(first, max(0, estimate - 40)) if first else -1
        out.append((line, at if at >= 0 else min(estimate, len(text))))
    return out


def _joined_tables(blocks: list[list[_Line]]) -> list[list[_Line]]:
    """A table that goes on at the top of the next page is one table with the part
    before it (the page's running header or footer aside, dropped already)."""
    out: list[list[_Line]] = []
    for block in blocks:
        before = out[-1][0].table if out else None
        after = block[0].table
        joined = continued(before, after) if before and after else None
        if joined:
            out[-1] = [replace(out[-1][0], table=joined, text=_table_words(joined))]
        else:
            out.append(block)
    return out


def _line(words: list[dict], page: int, bullet: bool = False) -> _Line:
    """One line of words; `bullet`: a bullet is drawn left of it (as a browser prints a
    list), which its text then starts with, as a bullet character would."""
    text = ("\u2022 " if bullet else "") + line_text(words)
    bold = [bool(BOLD.search(w["fontname"])) for w in words]
    lead = 0
    while lead < len(words) and bold[lead]:
        lead += 1
    sizes = Counter(round(w["size"], 1) for w in words for _ in w["text"])
    return _Line(page, min(w["top"] for w in words), max(w["bottom"] for w in words),
                 words[0]["x0"], sizes.most_common(1)[0][0], all(bold),
                 " ".join(w["text"] for w in words[:lead]) if 0 < lead < len(words) else "",
                 text)


def _without_furniture(lines: list[_Line]) -> list[_Line]:
    """Drop page numbers (a page's first or last line) and lines repeated at the top
    or bottom of most pages (running headers and footers)."""
    pages = max((ln.page for ln in lines), default=1)
    by_page: dict[int, list[_Line]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    edges = [ln for group in by_page.values() for ln in (group[0], group[-1])]
    shape = Counter(re.sub(r"\d+", "#", ln.text.strip().lower()) for ln in edges)
    repeated = {s for s, n in shape.items() if pages >= 3 and n >= max(3, pages // 2)}
    return [ln for ln in lines if not (ln in edges and (
        _PAGE_NUMBER.match(ln.text.strip())
        or re.sub(r"\d+", "#", ln.text.strip().lower()) in repeated))]


def _body_size(lines: list[_Line]) -> float:
    sizes = Counter(ln.size for ln in lines for _ in ln.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _style(line: _Line, body: float) -> tuple[str, float]:
    if line.size >= body * 1.15:
        return "large", line.size
    return ("bold", line.size) if line.bold else ("body", body)


def _blocks(lines: list[_Line]) -> list[list[_Line]]:
    """Lines grouped into paragraphs, list items and headings."""
    body = _body_size(lines)
    gaps = [b.top - a.bottom for a, b in zip(lines, lines[1:], strict=False)
            if a.page == b.page and _style(a, body)[0] == "body" == _style(b, body)[0]
            and b.top > a.bottom - 1]
    gap = (statistics.median(gaps) if gaps else 2.0) + 0.3 * body
    blocks: list[list[_Line]] = []
    for line in lines:
        prev = blocks[-1][-1] if blocks else None
        if (prev is None or line.table or prev.table or _BULLET.match(line.text)
                or _style(line, body) != _style(prev, body)):
            blocks.append([line])
        elif line.page != prev.page and _SENTENCE_END.search(prev.text) and (
                line.text[:1].isupper()):
            blocks.append([line])  # a paragraph that goes on across the page break is one
        elif line.page != prev.page:
            blocks[-1].append(line)
        elif line.top - prev.bottom > gap or line.lead and not prev.lead and not (
                _BULLET.match(blocks[-1][0].text)):
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return blocks


def _heading_levels(blocks: list[list[_Line]], body: float) -> dict[int, int]:
    """id(block) -> heading level, for the blocks that are headings."""
    found: dict[int, tuple[tuple[float, bool], int]] = {}
    for i, block in enumerate(blocks):
        kind, size = _style(block[0], body)
        if block[0].table:
            continue
        text = _join(block)
        following = blocks[i + 1][0].text if i + 1 < len(blocks) else ""
        if kind == "body" or len(block) > 3 or len(text.split()) > 24:
            continue
        if kind == "bold" and (_SENTENCE_END.search(text) and not text.endswith("?")
                               or following[:1].islower() or len(text.split()) > 15):
            continue
        number = _NUMBERING.match(text)
        found[id(block)] = ((size, block[0].bold), number.group(1).count(".") if number else 0)
    styles = sorted({style for style, _ in found.values()}, reverse=True)
    shallowest = {s: min(d for st, d in found.values() if st == s) for s in styles}
    return {key: min(6, styles.index(style) + 1 + depth - shallowest[style])
            for key, (style, depth) in found.items()}


def _join(block: list[_Line], compounds: frozenset[str] = frozenset()) -> str:
    """The block's lines as one line. A word broken by a hyphen at a line end is
    joined ("proces-" "sors"), unless the document writes it with a hyphen elsewhere
    ("third-" "party", as in "third-party providers")."""
    text = _BULLET.sub("", block[0].text)
    for line in block[1:]:
        head = re.search(r"(\w+)-$", text)
        nxt = re.match(r"\w+", line.text)
        if head and nxt and nxt.group(0)[:1].islower():
            compound = f"{head.group(1)}-{nxt.group(0)}".lower() in compounds
            text = (text if compound else text[:-1]) + line.text
        else:
            text += " " + line.text
    return text


def _compounds(lines: list[_Line]) -> frozenset[str]:
    """Hyphenated words the document writes inside a line."""
    return frozenset(m.group(0).lower() for ln in lines
                     for m in re.finditer(r"\w+-\w+", ln.text))


def _paragraph(block: list[_Line], compounds: frozenset[str]) -> str:
    text = _join(block, compounds)
    prefix = "- " if _BULLET.match(block[0].text) else ""
    lead = block[0].lead
    if lead and text.startswith(lead):
        body = f"**{escape(lead).strip()}** {escape(text[len(lead):]).strip()}"
        return prefix + body
    return prefix + guard_line_start(escape(text).strip())
