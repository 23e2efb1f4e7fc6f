"""Markdown to reader text, shared by the splitter and the answerer: headings, inline
markup, tables, lead-ins (anchor slugs: index/anchors.py; sentence boundaries:
index/sentences.py). Pure functions, no state."""

from __future__ import annotations

import html
import re

# --- Markdown to reader text -------------------------------------------------------

_AUTOLINK = re.compile(
    r"<((?:https?|mailto):[^>\s]+|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*))>")
# a link destination: no spaces, parentheses only balanced one deep (wiki URLs), or <...>
_DEST = r"(?:<[^<>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?"
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*" + _DEST + r"\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*" + _DEST + r"\s*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# inline tags vanish without a trace (im<b>port</b>ant); block tags separate words
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|dfn|em|font|i|kbd|mark|q|s|samp|small|span|"
    r"strike|strong|sub|sup|time|tt|u|var|wbr)(?:\s[^<>]*)?/?>", re.I)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.S)
_EM_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])", re.S)
_EM_UNDER = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])", re.S)
_CODE = re.compile(r"`([^`]*)`")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: any ASCII punctuation
_WS = re.compile(r"\s+")
_HIDDEN = re.compile("\ue000(\\d+)\ue001")
# attribute lists: kramdown / Python-Markdown `{: #id .class key="v" }`, Pandoc `{#id}`
_IAL = re.compile(r"(?<!\\)\{(?::[^{}\n]*|[ \t]*[#.][^\s{}][^{}\n]*)\}")
_IAL_ID = re.compile(r"(?:^|\s|\{:?)#([^\s{}#]+)")
_IAL_LINE = re.compile(r"^[ \t]*" + _IAL.pattern + r"[ \t]*$")
_ANCHOR_TAG = re.compile(  # an empty <a id="x"></a> or <a name="x"></a>
    r"""<a\s[^<>]*?(?<![\w-])(?:id|name)\s*=\s*["']?([^"'\s>]+)[^<>]*>\s*</a>""", re.I)

# An ATX heading line as langchain's MarkdownHeaderTextSplitter sees it: after
# stripping, 1-6 `#` then a space or the end of the line.
_HEADING_LINE = re.compile(r"^\s*(#{1,6})(?: +(.*?))?\s*$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t\r]*$")  # the underline of "Title\n====="
_TABLE_DELIMITER = re.compile(r"^\s*(?:\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?|\|\s*:?-+:?\s*\|)\s*$")
_TABLE_ROW = re.compile(r"^\s*\|(.*)\|[ \t\r]*$")
_CELL_BAR = re.compile(r"(?<!\\)\|")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S+.*$")
SECTION_LEVELS = 3  # h1-h3 start sections; h4-h6 sub-sections (with anchors of their own)
_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d{1,3}[.)])\s+")
_RULE = re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_LEAD_IN = re.compile(r"^\s*(\*\*|__)(?=\S)(.{1,120}?)(?<=\S)\1[ \t]*([:.]?)[ \t]*", re.S)
# bold words that the sentence goes on from ("**Korero never** sells ...") are no lead-in
_CONTINUES = re.compile(r"[a-z,;]")


def heading_level(line: str) -> tuple[int, str] | None:
    """(level, raw heading text) if `line` is an ATX heading, else None."""
    match = _HEADING_LINE.match(line)
    if not match:
        return None
    return len(match.group(1)), _CLOSING_HASHES.sub("", match.group(2) or "").strip()


def setext_level(line: str, underline: str | None) -> int | None:
    """1 or 2 if `line` is the text of a setext heading underlined by `underline`."""
    if underline is None or not line.strip() or not _SETEXT.match(underline):
        return None
    if (heading_level(line) or _LIST_ITEM.match(line) or _QUOTE.match(line)
            or _RULE.match(line) or _TABLE_ROW.match(line) or _FENCE.match(line)):
        return None
    return 1 if "=" in underline else 2


def heading_id(line: str, following: str = "") -> str | None:
    """The id a heading line gives itself: `## Title {#id}` / `{: #id }`, an
    `<a id="…">`/`<a name="…">` anchor in it, or an attribute list on the line after."""
    if following and _IAL_LINE.match(following) and not _IAL.search(line):
        line = following
    for ial in _IAL.finditer(line):
        found = _IAL_ID.search(ial.group(0))
        if found:
            return found.group(1)
    anchor = _ANCHOR_TAG.search(line)
    return anchor.group(1) if anchor else None


def block_id(paragraph: str) -> str | None:
    """The id a paragraph or list item gives itself: an attribute list on a line of
    its own after its text (`{: #id }`, kramdown and Python-Markdown), or an empty
    `<a id>` anchor at its start. In a run of list items only the first one counts."""
    lines = paragraph.split("\n")
    first = _LIST_ITEM.sub("", lines[0], count=1).lstrip()
    anchor = _ANCHOR_TAG.match(first)
    if anchor:
        return anchor.group(1)
    for line in lines[1:]:
        if _LIST_ITEM.match(line):
            break
        if _IAL_LINE.match(line):
            return heading_id(line)
    return None


def is_attribute_line(line: str) -> bool:
    """True for a line that is nothing but an attribute list (`{: #id }`)."""
    return bool(_IAL_LINE.match(line))


def heading_text(raw: str) -> str:
    """The text a reader sees for a heading's raw Markdown (links, emphasis removed)."""
    return render_inline(raw)


def heading_lines(markdown: str) -> list[tuple[int, int, str]]:
    """(line number, level, heading text) of every heading outside fenced code, ATX
    (`## Title`) or setext (`Title` over `=====`/`-----`, whose underline is the next
    line), lines numbered as in `markdown.split("\n")`."""
    out: list[tuple[int, int, str]] = []
    lines = markdown.split("\n")
    code = in_code(lines)
    for number, line in enumerate(lines):
        if code[number]:
            continue
        if out and out[-1][0] == number - 1 and _SETEXT.match(line) and not heading_level(
                lines[number - 1]):
            continue  # the underline of the heading before
        found = heading_level(line)
        level = setext_level(line, lines[number + 1] if number + 1 < len(lines) else None)
        if found:
            out.append((number, found[0], heading_text(found[1])))
        elif level:
            out.append((number, level, heading_text(line.strip())))
    return out


def in_code(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (``` or ~~~, its fence
    lines included); "```code```" on one line opens none."""
    out: list[bool] = []
    fence = ""
    for line in lines:
        opened = _FENCE.match(line)
        if fence:
            out.append(True)
            if line.strip().startswith(fence):
                fence = ""
        elif opened and not (opened.group(1) == "```" and line.count("```") > 1):
            fence = opened.group(1)
            out.append(True)
        else:
            out.append(False)
    return out


def render_inline(text: str) -> str:
    """Inline Markdown to the words a reader sees, on one line."""
    escaped: list[str] = []

    def hide(match: re.Match) -> str:  # \* is a literal star, never emphasis
        escaped.append(match.group(1))
        return f"\ue000{len(escaped) - 1}\ue001"

    text = _ESCAPE.sub(hide, text)
    text = _IAL.sub("", text)
    text = _COMMENT.sub(" ", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _INLINE_TAG.sub("", text)
    text = _TAG.sub(" ", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EM_STAR.sub(r"\1", text)
    text = _EM_UNDER.sub(r"\1", text)
    text = _WS.sub(" ", html.unescape(text)).strip()
    return _HIDDEN.sub(lambda m: escaped[int(m.group(1))], text) if escaped else text


_ANY_TAG = re.compile(r"<[^<>\n]*>")
_LIST_START = re.compile(r"^[ \t]*(?:[*+-]|\d{1,3}[.)])[ \t]+\S*", re.M)  # "1. " is no sentence
_ROW = re.compile(r"^[ \t]*\|.*\|[ \t\r]*$", re.M)
# a table's header row and its |---| line: a cut between them would make the header text
_HEAD_ROW = re.compile(r"^[ \t]*\|.*\|[ \t\r]*\n[ \t]*\|?[ \t:|-]*-[ \t:|-]*\r?$", re.M)
_INLINE_CONSTRUCTS = (_IAL, _COMMENT, _AUTOLINK, _IMAGE, _LINK, _REF_LINK, _ANY_TAG, _CODE, _STRONG,
                      _EM_STAR, _EM_UNDER, _LIST_START, _ROW, _HEAD_ROW)
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")


def inline_spans(markdown: str) -> list[tuple[int, int]]:
    """Disjoint (start, end) ranges of inline constructs (links, emphasis, tags, code)
    that a split must not cut through, or their rendering would change words."""
    found: list[tuple[int, int]] = []
    cursor = 0
    for para in [*_BLANK_LINE.finditer(markdown), None]:
        stop = para.start() if para else len(markdown)
        for pattern in _INLINE_CONSTRUCTS:
            found.extend((cursor + m.start(), cursor + m.end())
                         for m in pattern.finditer(markdown[cursor:stop]))
        cursor = para.end() if para else stop
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def lead_in(paragraph: str) -> tuple[str, str] | None:
    """A bold lead-in (`**Log file information**`) opening a paragraph, as
    (title, rest-of-paragraph), or None."""
    match = _LEAD_IN.match(paragraph)
    if not match:
        return None
    punctuated = match.group(3) or match.group(2)[-1] in ":.?!"
    if not punctuated and _CONTINUES.match(paragraph, match.end()):
        return None
    title = render_inline(match.group(2))
    return (title, paragraph[match.end() :]) if title else None


CELL_SEPARATOR = " | "  # between a table row's cells in reader text (never in a link)
CELL_ITEMS = "; "  # between the list items or paragraphs of one cell (formats/common.py)


def table_cells(row: str) -> list[str]:
    """The cells of a pipe-table row (the text between its outer bars), as Markdown."""
    return [cell.strip() for cell in _CELL_BAR.split(row)]


def row_cells(line: str) -> list[str] | None:
    """The cells of `line` if it is a pipe-table row (a header or a body row), else None."""
    row = _TABLE_ROW.match(line)
    return table_cells(row.group(1)) if row else None


def is_table_delimiter(line: str) -> bool:
    """True for the `|---|:---:|` line under a table's header row."""
    return bool(_TABLE_DELIMITER.match(line))


def render_block(markdown: str, *, keep_headings: bool = False) -> str:
    """Block Markdown to reader text: one line per paragraph, list item, heading or
    bold lead-in; line wraps inside a paragraph become single spaces.

    Section headings (h1-h3) are dropped unless `keep_headings`; minor headings
    (h4-h6) always stay, as lines of their own, because they title sub-sections
    inside a chunk, like bold lead-ins. Attribute lists (`{: #id }`) are markup. A table
    row is a line of its own, its non-empty cells joined by CELL_SEPARATOR (what a row
    is about stays beside what it says); the header row (above `|---|`) is column
    labels, no text (a row is embedded with them: index/tables.py). A quote's link
    never spans cells (qa/answering/quotes.py)."""
    blocks: list[list[str] | tuple[str] | str] = []  # a heading (str) as is; a row (tuple)
    current: list[str] | None = None
    markdown = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), markdown)
    lines = markdown.splitlines()
    underlines: set[int] = set()
    for number, line in enumerate(lines):
        if number in underlines:
            continue
        heading = heading_level(line)
        setext = setext_level(line, lines[number + 1] if number + 1 < len(lines) else None)
        if setext:
            heading = (setext, line.strip())
            underlines.add(number + 1)
        if (not line.strip() or _RULE.match(line) or heading or _TABLE_DELIMITER.match(line)
                or _LINK_DEFINITION.match(line)):
            current = None
            if heading and heading[1] and (keep_headings or heading[0] > SECTION_LEVELS):
                blocks.append(heading[1])
            continue
        row = row_cells(line)
        if row is not None:  # a table row: a line of its own, cells apart; the header row
            current = None  # is no text
            following = lines[number + 1] if number + 1 < len(lines) else ""
            cells = [cell for cell in row if cell]
            if cells and not is_table_delimiter(following):
                blocks.append((CELL_SEPARATOR.join(cells),))  # a row: never a lead-in
            continue
        line = _QUOTE.sub("", line)
        if _LIST_ITEM.match(line) or current is None:
            current = [_LIST_ITEM.sub("", line)]
            blocks.append(current)
        else:
            current.append(line)
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, str):
            lines.append(heading_text(block))
            continue
        if isinstance(block, tuple):  # a row: a bold first cell is its, not a lead-in
            parts = [block[0]]
        else:
            paragraph = "\n".join(block)
            split = lead_in(paragraph)
            parts = [split[0], split[1]] if split else [paragraph]
        lines.extend(p for p in (render_inline(part) for part in parts) if p)
    return "\n".join(lines)
