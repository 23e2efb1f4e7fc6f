"""Markdown (CommonMark, optional YAML front matter) and plain text: kept exactly as
read, so chunk offsets point into the file. Front matter becomes `meta`; whether the
text is Markdown or plain paragraphs is decided from its content."""

from __future__ import annotations

import re

import yaml

from index.errors import PolicyError
from index.formats.common import Converted, decode_text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(?:\r?\n|\Z)", re.S)
_MARKDOWN_HINT = re.compile(
    r"^(#{1,6}[ \t]|\*\*|[*-][ \t]|\d+\.[ \t]|[ \t]*\|.*\|[ \t\r]*$|\{:)|\]\("
    r"|^[^\n]*\S[^\n]*\n {0,3}(?:={3,}|-{3,})[ \t\r]*$", re.M)


def convert(raw: bytes, name: str) -> Converted:
    text = decode_text(raw, name)
    meta, body_start = front_matter(text, name)
    kind = "markdown" if _MARKDOWN_HINT.search(text, body_start) else "text"
    return Converted(kind, text, body_start, meta)


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
