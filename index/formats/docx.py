"""Word .docx, read with python-docx, in body order (paragraphs and tables).

Headings come from the paragraph styles ("Title", "Heading 1" … "Heading 6", their
localised names, or an outline level), with a heading's bookmark as its id (Pandoc and
Word's own "_Toc" bookmarks aside); list paragraphs (numbering or a List style)
become list items; bold runs opening a paragraph are a lead-in; hyperlinks are kept
(mailto: included). Page numbers are not known: Word lays pages out when it opens.
"""

from __future__ import annotations

import io
import re

from index.errors import PolicyError
from index.formats.common import (
    Converted,
    cell_text,
    escape,
    guard_line_start,
    heading,
    table,
)

_HEADING_STYLE = re.compile(r"(?:heading|überschrift|titre|título|titolo|kop|rubrik)\s*(\d)",
                            re.I)


def convert(raw: bytes, name: str) -> Converted:
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(raw))
        title = document.core_properties.title or ""
        out: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Paragraph):
                _paragraph(item, out)
            elif isinstance(item, Table):
                _table(item, out)
    except PolicyError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types for damaged files
        raise PolicyError(f"policy {name} is a damaged Word document: it cannot be read "
                          f"({type(exc).__name__})") from None
    meta = {"title": title.strip()} if title.strip() else {}
    return Converted("docx", "\n\n".join(out) + "\n", 0, meta)


def _paragraph(par, out: list[str]) -> None:
    text = " ".join(par.text.split())
    if not text:
        return
    level = _level(par)
    if level:
        out.append(heading(level, text, _bookmark(par)))
        return
    listed = _is_list(par)
    line = _inline(par)
    if listed:
        depth = _list_depth(par)
        line = "  " * depth + "- " + line
        if out and re.match(r"\s*- ", out[-1].rsplit("\n", 1)[-1]):
            out[-1] += "\n" + line  # a tight list: items on consecutive lines
            return
    out.append(line)


def _level(par) -> int | None:
    style = par.style
    while style is not None:
        if style.name and style.name.lower() == "title":
            return 1
        match = _HEADING_STYLE.search(style.name or "") or _HEADING_STYLE.search(
            style.style_id or "")
        if match and 1 <= int(match.group(1)) <= 9:
            return min(int(match.group(1)), 6)
        style = style.base_style
    outline = par._p.find(".//{*}outlineLvl")
    if outline is not None:
        value = outline.get(f"{{{_W}}}val")
        if value and value.isdigit() and int(value) < 9:
            return min(int(value) + 1, 6)
    return None


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _bookmark(par) -> str | None:
    """A bookmark in the paragraph or just before it (where Pandoc puts them)."""
    marks = list(par._p.iter(f"{{{_W}}}bookmarkStart"))
    before = par._p.getprevious()
    while before is not None and before.tag in (f"{{{_W}}}bookmarkStart",
                                                 f"{{{_W}}}bookmarkEnd"):
        marks.append(before)
        before = before.getprevious()
    names = [m.get(f"{{{_W}}}name") or "" for m in marks if m.tag.endswith("Start")]
    return next((n for n in names if n and not n.startswith("_")), None)


def _is_list(par) -> bool:
    if par._p.find(f"{{{_W}}}pPr/{{{_W}}}numPr") is not None:
        return True
    style = par.style
    while style is not None:
        if "list" in (style.name or "").lower() or style.element.find(
                f"{{{_W}}}pPr/{{{_W}}}numPr") is not None:
            return True
        style = style.base_style
    return False


def _list_depth(par) -> int:
    level = par._p.find(f"{{{_W}}}pPr/{{{_W}}}numPr/{{{_W}}}ilvl")
    value = level.get(f"{{{_W}}}val") if level is not None else "0"
    return int(value) if value and value.isdigit() else 0


def _inline(par) -> str:
    """The paragraph's runs and hyperlinks as escaped Markdown; bold runs that open
    it, with text after them, are a lead-in."""
    from docx.text.hyperlink import Hyperlink

    parts: list[tuple[str, bool, str]] = []  # (text, bold, url)
    for item in par.iter_inner_content():
        if isinstance(item, Hyperlink):
            parts.append((item.text, all(r.bold for r in item.runs if r.text.strip()),
                          item.url or ""))
        else:
            parts.append((item.text, bool(item.bold), ""))
    lead = ""
    while parts and parts[0][1] and parts[0][0].strip():
        lead += parts.pop(0)[0]
    body = "".join(_link(text, url) for text, _, url in parts)
    line = " ".join(body.split())
    if lead.strip():
        return f"**{' '.join(escape(lead).split())}** {line}".rstrip()
    return guard_line_start(line)


def _link(text: str, url: str) -> str:
    if url and re.match(r"(?i)(https?|mailto):", url) and text.strip():
        quoted = url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
        return f"[{escape(text)}](<{quoted}>)"
    return escape(text)


def _table(grid, out: list[str]) -> None:
    """A pipe table; the first row is its header only when Word marks it so ("repeat
    as header row") or it is all bold, else every row is data."""
    rows = [[cell_text([p.text for p in cell.paragraphs]) for cell in row.cells]
            for row in grid.rows]
    marked = bool(grid.rows) and _is_header(grid.rows[0])
    header = rows[0] if marked else None
    rows = [r for r in rows[1 if marked else 0:] if any(r)]
    if rows or header:
        out.append(table(header, rows or [[]]))


def _is_header(row) -> bool:
    if row._tr.find(f"{{{_W}}}trPr/{{{_W}}}tblHeader") is not None:
        return True
    runs = [r for cell in row.cells for p in cell.paragraphs for r in p.runs if r.text.strip()]
    return bool(runs) and all(r.bold for r in runs)
