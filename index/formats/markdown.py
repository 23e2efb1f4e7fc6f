"""Markdown (CommonMark, optional YAML front matter) and plain text: kept exactly as
read, so chunk offsets point into the file, except raw HTML tables (`<table>` … `</table>`
outside code), which become pipe tables as an HTML page's do: a row is a line of its
own and the header row no text, where the raw tags would run every cell of the table
into one paragraph. Front matter becomes `meta`; whether the text is Markdown or plain
paragraphs is decided from its content."""

from __future__ import annotations

import re

import yaml

from index.errors import PolicyError
from index.formats.common import Converted, decode_text
from index.text import in_code

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(?:\r?\n|\Z)", re.S)
_MARKDOWN_HINT = re.compile(
    r"^(#{1,6}[ \t]|\*\*|[*-][ \t]|\d+\.[ \t]|[ \t]*\|.*\|[ \t\r]*$|\{:)|\]\("
    r"|^[^\n]*\S[^\n]*\n {0,3}(?:={3,}|-{3,})[ \t\r]*$", re.M)


def convert(raw: bytes, name: str) -> Converted:
    text = decode_text(raw, name)
    meta, body_start = front_matter(text, name)
    kind = "markdown" if _MARKDOWN_HINT.search(text, body_start) else "text"
    if kind == "markdown" or _TABLE_START.search(text, body_start):
        kind, text = "markdown", text[:body_start] + html_tables(text[body_start:])
    return Converted(kind, text, body_start, meta)


def html_tables(markdown: str) -> str:
    """`markdown` with each raw HTML table outside fenced code (a line opening with
    `<table`, to the line that closes it) written as a pipe table, blank lines around."""
    if not _TABLE_START.search(markdown):
        return markdown
    out: list[str] = []
    cursor = 0
    for start, end in _table_spans(markdown):
        out.append(markdown[cursor:start])
        out.append(_pipe_table(markdown[start:end]))
        cursor = end
    out.append(markdown[cursor:])
    return "".join(out)


def _table_spans(markdown: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    closes = _closing_tags(markdown)
    lines = markdown.splitlines(keepends=True)
    offset, resume = 0, 0
    for line, code in zip(lines, in_code(lines), strict=True):
        begin, offset = offset, offset + len(line)
        if begin < resume or code:
            continue
        if (start := _TABLE_START.match(line)) and begin + start.end() - 6 in closes:
            close = closes[begin + start.end() - 6]
            newline = markdown.find("\n", close)
            resume = len(markdown) if newline < 0 else newline + 1
            spans.append((begin, resume))
    return spans


def _closing_tags(markdown: str) -> dict[int, int]:
    """Where each `<table` tag's table closes (the end of its `</table` tag), nested tables
    counted, in one pass; a table that never closes is not in it."""
    closes: dict[int, int] = {}
    opened: list[int] = []
    for tag in _TABLE_TAG.finditer(markdown):
        if not tag.group(1):
            opened.append(tag.start())
        elif opened:
            closes[opened.pop()] = tag.end()
    return closes


def _pipe_table(fragment: str) -> str:
    from index.formats.html import table_fragment  # lxml only when a table is there

    blocks = table_fragment(fragment)
    return "\n" + "\n\n".join(blocks) + "\n\n" if blocks else "\n"


_TABLE_START = re.compile(r"^ {0,3}<table(?=[\s>/])", re.I | re.M)
_TABLE_TAG = re.compile(r"<(/?)table(?=[\s>/])", re.I)


def front_matter(text: str, name: str) -> tuple[dict, int]:
    """The YAML front matter as a dict (empty if none) and where the body starts."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        raise PolicyError(f"policy {name} has front matter that is not valid YAML") from None
    return (meta if isinstance(meta, dict) else {}), match.end()
