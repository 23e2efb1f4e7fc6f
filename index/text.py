"""Text helpers shared by the splitter and the answerer: heading slugs, Markdown to
reader text, sentence boundaries. Pure functions, no state."""

from __future__ import annotations

import html
import re

# --- anchors ---------------------------------------------------------------------

_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


def slugify(heading: str) -> str:
    """github-slugger's rule: lower-case, drop punctuation except - and _, spaces to -."""
    return _SLUG_DROP.sub("", heading.strip().lower()).replace(" ", "-")


def unique_slug(heading: str, seen: dict[str, int]) -> str:
    """Like github-slugger, repeated headings get -1, -2 … suffixes."""
    base = slugify(heading) or "section"
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"


# --- Markdown to reader text -------------------------------------------------------

_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.S)
_EM_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])", re.S)
_EM_UNDER = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])", re.S)
_CODE = re.compile(r"`([^`]*)`")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")
_WS = re.compile(r"\s+")

_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d{1,3}[.)])\s+")
_RULE = re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_LEAD_IN = re.compile(r"^\s*(\*\*|__)(?=\S)(.{1,120}?)(?<=\S)\1[ \t]*[:.]?[ \t]*", re.S)


def render_inline(text: str) -> str:
    """Inline Markdown to the words a reader sees, on one line."""
    text = _AUTOLINK.sub(r"\1", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EM_STAR.sub(r"\1", text)
    text = _EM_UNDER.sub(r"\1", text)
    text = _ESCAPE.sub(r"\1", text)
    return _WS.sub(" ", html.unescape(text)).strip()


def lead_in(paragraph: str) -> tuple[str, str] | None:
    """A bold lead-in (`**Log file information**`) opening a paragraph, as
    (title, rest-of-paragraph), or None."""
    match = _LEAD_IN.match(paragraph)
    if not match:
        return None
    title = render_inline(match.group(2))
    return (title, paragraph[match.end() :]) if title else None


def render_block(markdown: str, *, keep_headings: bool = False) -> str:
    """Block Markdown to reader text: one line per paragraph, list item, heading or
    bold lead-in; line wraps inside a paragraph become single spaces."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in markdown.splitlines():
        heading = _HEADING_LINE.match(line)
        if not line.strip() or _RULE.match(line) or heading:
            current = None
            if heading and keep_headings:
                blocks.append([heading.group(1)])
            continue
        line = _QUOTE.sub("", line)
        if _LIST_ITEM.match(line) or current is None:
            current = [_LIST_ITEM.sub("", line)]
            blocks.append(current)
        else:
            current.append(line)
    lines: list[str] = []
    for block in blocks:
        paragraph = "\n".join(block)
        split = lead_in(paragraph)
        parts = [split[0], split[1]] if split else [paragraph]
        lines.extend(p for p in (render_inline(part) for part in parts) if p)
    return "\n".join(lines)


# --- sentences -------------------------------------------------------------------

_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = ("e.g.", "i.e.", "inc.", "ltd.", "co.", "corp.", "mr.", "mrs.", "ms.",
                  "dr.", "st.", "no.", "vs.", "u.s.", "u.k.", "approx.", "cf.", "fig.")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of reader text; a line break always ends
    a sentence (list items and lead-ins are units of their own)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for match in _BOUNDARY.finditer(line):
            words = line[start : match.start()].split()
            last = words[-1].lower() if words else ""
            if last.endswith(_ABBREVIATIONS) or re.fullmatch(r"[a-z]\.", last):
                continue
            spans.append((offset + start, offset + match.start()))
            start = match.end()
        if line[start:].strip():
            spans.append((offset + start, offset + len(line.rstrip())))
        offset += len(line) + 1
    return [(s, e) for s, e in spans if text[s:e].strip()]
