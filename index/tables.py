"""A table row's column labels, embedded with its cells (never shown, quoted or scored).

A pipe table's body row is a line of reader text (index/text.py `render_block`: its
non-empty cells joined by CELL_SEPARATOR) and its header row is column labels, no text,
so "Payment data | 7 years after the transaction | Tax law requires it" does not say
that its second cell is a retention period, and "how long is payment data kept?" may
miss it. The splitter records where each cell of a row lies in a chunk's text, its
column and its column's label (`chunk_headers`, kept as `Chunk.headers`); a sentence of
the chunk is embedded with each label after its cell, in parentheses as glosses are
(`labelled`; index/units.py `Unit.embed_text`): "Payment data (Type of data) | 7 years
after the transaction (Retention period) | Tax law requires it (Why)". Of the forms
measured (labels before the cells, "Type of data: Payment data", or "; " between cells)
this one answered most column questions; the first column's label (what the table
lists) is left off a `plain` unit (index/units.py).

Only body rows of a table whose header row has text get labels, and only the cells of
a column with a label. A row with more cells than its header row gets none (which label
fits which cell cannot be told); a row with fewer has its cells labelled from the left,
as a Markdown table shows them. A row whose reader text is not its cells' joined
(emphasis across cells, a cell that renders to nothing) or that a chunk holds only part
of gets none.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.text import CELL_SEPARATOR, is_table_delimiter, render_block, render_inline, row_cells

Cell = tuple[int, int, int, str]  # a cell's (start, end) in a chunk's text, column, label
Labels = tuple[str, ...]  # a table's column labels, by position


def header_rows(source: str) -> dict[int, Labels]:
    """The offset in `source` of every table body row line whose table has a header row
    with text -> that header row's labels."""
    out: dict[int, Labels] = {}
    lines = source.split("\n")
    labels: Labels | None = None
    offset = 0
    for number, line in enumerate(lines):
        following = lines[number + 1] if number + 1 < len(lines) else ""
        cells = row_cells(line)
        if is_table_delimiter(line):
            above = row_cells(lines[number - 1]) if number else None
            labels = tuple(_label(c) for c in above) if above else None
            labels = labels if labels and any(labels) else None
        elif cells is None:
            labels = None
        elif labels and not is_table_delimiter(following):
            out[offset] = labels
        offset += len(line) + 1
    return out


def _label(cell: str) -> str:
    return render_inline(cell).rstrip(":").strip()


def chunk_headers(source: str, start: int, end: int, text: str, rows: dict[int, Labels]
                  ) -> tuple[Cell, ...]:
    """The labelled cells of the table rows in `text`, the reader text of
    `source[start:end]`, given `header_rows(source)`. A row is placed by position: a
    row is a block of its own, so the source before it renders to the prefix of `text`
    before it (as `split._page_turns` relies on); a row not found there gets none."""
    found: list[Cell] = []
    at = start
    for line in source[start:end].split("\n"):
        line_start, at = at, at + len(line) + 1
        labels = rows.get(line_start)
        cells = _labelled_cells(line, labels) if labels else None
        if not cells:
            continue
        before = render_block(source[start:line_start])
        offset = len(before) + 1 if before else 0
        row = CELL_SEPARATOR.join(cell for _, cell, _ in cells)
        if text[offset:offset + len(row)] != row:
            continue
        for column, cell, label in cells:
            if label and cell:
                found.append((offset, offset + len(cell), column, label))
            offset += len(cell) + len(CELL_SEPARATOR)
    return tuple(found)


def _labelled_cells(line: str, labels: Labels) -> list[tuple[int, str, str]] | None:
    """(column, reader text, label) of each non-empty cell of a row line, or None when
    the row has more cells than `labels` or its reader text is not its cells' joined."""
    cells = row_cells(line)
    if cells is None or len(cells) > len(labels):
        return None
    out = [(i, render_inline(cell), labels[i]) for i, cell in enumerate(cells) if cell]
    if not out or render_block(line) != CELL_SEPARATOR.join(cell for _, cell, _ in out):
        return None
    return out


def labelled(text: str, cells: Sequence[Cell], start: int, end: int, *,
             first: bool = True) -> str:
    """`text[start:end]` with each labelled cell it holds followed by its column's label
    in parentheses, the first column's only if `first` (a cell it holds only part of
    too, so each sentence of a long cell keeps its column):
    "Payment data (Type of data) | 7 years (Retention period) | Tax law (Why)"."""
    parts: list[str] = []
    at = start
    for cell_start, cell_end, column, label in cells:
        if cell_end <= start or cell_start >= end or (column == 0 and not first):
            continue
        cut = min(cell_end, end)
        parts += [text[at:cut], f" ({label})"]
        at = cut
    return "".join(parts) + text[at:end]
