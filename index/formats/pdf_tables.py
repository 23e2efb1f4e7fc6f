"""Ruled tables on a PDF page (pdfplumber's finder, which follows the drawn cell
borders), read as an HTML page's tables are: a row of cells; the lines of a cell joined
(a line ending in a hyphen goes on without a space: "de-" "identified"); the items of a
bulleted list in a cell apart ("Technical data; Location": a bullet is a character, or a
small drawn mark left of the line); a first row set in bold only the header row, column
labels and no text (a table of one row has none). A table continued on the next page is
one table (`continued`): its header row repeated there is dropped, and a row cut by the
page break (its first cell empty on the next page; the cut side has no border, so one is
assumed where the column borders end) is made whole. A bordered box of one column is no
table, and tables without drawn borders are not found: their words read as the page's
other lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.formats.common import cell_text
from index.text import CELL_ITEMS

_BULLET = re.compile(r"^(?:[•◦▪▫‣●○■□·∙]\s*|[–-]\s+)")
BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.I)  # a font name's weight
_MARK = 6.0  # a drawn bullet is at most this wide and tall (points)

Box = tuple[float, float, float, float]  # x0, top, x1, bottom


@dataclass(frozen=True)
class PdfTable:
    page: int
    top: float
    bottom: float
    size: float  # the font size most of its words are set in
    header: tuple[str, ...]  # () without a header row
    rows: tuple[tuple[str, ...], ...]
    opens_list: tuple[bool, ...] = ()  # whether each cell of the first row opens with an item
    turns: tuple[tuple[int, int], ...] = ()  # (row, page): where a later page's rows begin


def page_tables(page, number: int, words: list[dict]) -> tuple[list[PdfTable], list[Box]]:
    """The page's ruled tables with text, and the boxes of every table found (their
    words belong to the table, not to the page's lines)."""
    found = [t for t in page.find_tables(_settings(page))
             if max(len(row.cells) for row in t.rows) >= 2]  # a bordered box is no table
    if not found:
        return [], []
    marks = bullet_marks(page)
    tables = []
    for table in found:
        rows = [[_cell(box, words, marks) if box else _EMPTY for box in row.cells]
                for row in table.rows]
        rows = [row for row in rows if any(cell.text for cell in row)]
        if not rows:
            continue
        head = len(rows) > 1 and all(cell.bold for cell in rows[0] if cell.text)
        body = rows[1:] if head else rows
        sizes = sorted(w["size"] for w in words if inside(w, [table.bbox]))
        tables.append(PdfTable(
            number, table.bbox[1], table.bbox[3], sizes[len(sizes) // 2] if sizes else 10.0,
            tuple(c.text for c in rows[0]) if head else (),
            tuple(tuple(c.text for c in row) for row in body),
            tuple(c.opens_list for c in body[0]) if body else ()))
    return tables, [t.bbox for t in found]


def bullet_marks(page) -> list[Box]:
    """The small shapes drawn on the page: a browser draws a list's bullets so."""
    return [(g["x0"], g["top"], g["x1"], g["bottom"]) for g in (*page.curves, *page.rects)
            if g["width"] <= _MARK and g["height"] <= _MARK]


def marked(line: list[dict], marks: list[Box]) -> bool:
    """Whether a drawn bullet stands just left of the line's first word."""
    first = line[0]
    return any(m[2] <= first["x0"] and first["x0"] - m[2] < 3 * first["size"]
               and m[1] < first["bottom"] and m[3] > first["top"] for m in marks)


def _settings(page) -> dict:
    """A row cut by a page break has no border on the cut side: a rule where the
    page's column borders end closes it (without, the finder loses the row)."""
    ends = [(e["top"], e["bottom"]) for e in page.edges if e["orientation"] == "v"]
    if not ends:
        return {}
    return {"explicit_horizontal_lines": [min(t for t, _ in ends), max(b for _, b in ends)]}


def inside(word: dict, boxes: list[Box]) -> bool:
    """Whether the word's centre lies in one of the boxes."""
    x, y = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)


def continued(before: PdfTable, after: PdfTable) -> PdfTable | None:
    """`before` and `after` as one table when `after` goes on with it on the next page
    (the same columns; its header row, if repeated, dropped), else None."""
    width = len(before.rows[0]) if before.rows else len(before.header)
    if after.page != before.page + 1 or not after.rows or len(after.rows[0]) != width:
        return None
    if after.header and after.header != before.header:  # another table's header row
        return None
    rows = list(after.rows)
    # either way, the row after the page break's first is row len(before.rows)
    turns = (*before.turns, (len(before.rows), after.page))
    if before.rows and rows and not rows[0][0]:  # a row cut by the page break
        cut = tuple((CELL_ITEMS if item else " ").join(p for p in (a, b) if p) for a, b, item
                    in zip(before.rows[-1], rows[0], after.opens_list, strict=True))
        return replace(before, bottom=after.bottom, turns=turns,
                       rows=(*before.rows[:-1], cut, *rows[1:]))
    return replace(before, bottom=after.bottom, turns=turns, rows=(*before.rows, *rows))


@dataclass(frozen=True)
class _Cell:
    text: str  # its lines joined, its list items apart
    bold: bool  # every word of it
    opens_list: bool  # its first line is a list item


_EMPTY = _Cell("", False, False)


def _cell(box: Box, words: list[dict], marks: list[Box]) -> _Cell:
    mine = sorted((w for w in words if inside(w, [box])), key=lambda w: (w["top"], w["x0"]))
    lines: list[list[dict]] = []
    for word in mine:
        if lines and abs(word["top"] - lines[-1][0]["top"]) <= 0.5 * word["size"]:
            lines[-1].append(word)
        else:
            lines.append([word])
    parts: list[str] = []
    first_item = False
    for line in lines:
        line.sort(key=lambda w: w["x0"])
        text = line_text(line)
        item = _BULLET.match(text) or marked(line, marks)
        text = _BULLET.sub("", text)
        first_item = first_item or bool(item and not parts)
        if not parts or item:
            parts.append(text)
        elif parts[-1].endswith("-") and text[:1].islower():
            parts[-1] += text  # "de-" "identified": cells are narrow, not hyphenated
        else:
            parts[-1] += " " + text
    bold = bool(mine) and all(BOLD.search(w.get("fontname", "")) for w in mine)
    return _Cell(cell_text(parts), bold, first_item)


def line_text(line: list[dict]) -> str:
    """A line's words (left to right), with no space where a word goes on in another
    font ("Consent,"): the page's lines and a cell's alike."""
    text = line[0]["text"]
    for before, word in zip(line, line[1:], strict=False):
        glued = word["x0"] - before["x1"] < 0.08 * word["size"]
        text += ("" if glued else " ") + word["text"]
    return text
