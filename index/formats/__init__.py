"""Policy file formats: each is detected by its content and converted to the one
representation the splitter reads, Markdown-ish text (`Converted`).

Markdown and plain text pass through unchanged, so chunk offsets point into the
file as read. HTML, PDF and Word documents are written out as Markdown whose
rendering (`index.text.render_block`) is exactly the reader's text of the source:
headings as `#` lines with the source's own ids as attribute lists (`{#id}`),
paragraphs and list items one per line, tables as `| a | b |` rows (read as one line
per cell, the header row not text: `index.text.render_block`), every other
character escaped. Format modules are imported only when a file needs them.
"""

from __future__ import annotations

from collections.abc import Callable

from index.errors import PolicyError
from index.formats.common import (
    FORMATS,
    MAX_DOCUMENT_BYTES,
    MAX_TEXT_BYTES,
    MAX_UNZIPPED_BYTES,
    Converted,
    attributes,
    cell_text,
    decode_text,
    detect,
    escape,
    guard_line_start,
    heading,
    paragraph,
    table,
    table_row,
    unescape,
)

__all__ = [
    "Converted",
    "FORMATS",
    "MAX_DOCUMENT_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_UNZIPPED_BYTES",
    "attributes",
    "cell_text",
    "convert",
    "decode_text",
    "detect",
    "escape",
    "guard_line_start",
    "heading",
    "paragraph",
    "table",
    "table_row",
    "unescape",
]


def convert(raw: bytes, name: str) -> Converted:
    """Detect the format of `raw` and convert it; every problem is one PolicyError."""
    kind = detect(raw, name)
    limit = MAX_DOCUMENT_BYTES if kind in ("pdf", "docx") else MAX_TEXT_BYTES
    if len(raw) > limit:
        raise PolicyError(f"policy {name} is {len(raw)} bytes; the limit is {limit}")
    return _converter(kind)(raw, name)


def _converter(kind: str) -> Callable[[bytes, str], Converted]:
    if kind == "pdf":
        from index.formats import pdf as module
    elif kind == "docx":
        from index.formats import docx as module
    elif kind == "html":
        from index.formats import html as module
    else:
        from index.formats import markdown as module
    return module.convert


# --- detection ---------------------------------------------------------------------
