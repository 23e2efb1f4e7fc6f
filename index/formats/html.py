"""HTML (a saved page or a fragment), parsed with lxml.

The main content is `<main>`, else `role=main`, else the largest `<article>`, else
the densest block (most paragraph text, links discounted). Scripts, styles, forms,
navigation, asides, page headers and footers, dialogs and hidden elements are dropped,
and so is an element named as chrome (`cookie-banner`, `share-buttons`, `toc` …) that
holds chrome (index/formats/html_chrome.py); a section "consent" or "data-sharing" stays.
Headings h1-h6 keep their `id` (or an `<a id>`/`<a name>` in or just before them, or the
id of the section they open); paragraphs and list items keep theirs.
The base URL comes from `<link rel=canonical>` or `og:url`, never from a link.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from index.errors import PolicyError
from index.formats.common import (
    Converted,
    attributes,
    cell_text,
    decode_text,
    escape,
    guard_line_start,
    heading,
    table,
)
from index.formats.html_chrome import is_chrome

_DROP = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "object",
         "embed", "form", "button", "select", "textarea", "input", "nav", "aside", "dialog",
         "menu", "img", "video", "audio", "picture", "map", "head")
_CHROME = ("header", "footer")  # dropped unless inside the main content
_ROLES = {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog",
          "search", "menu", "menubar", "toolbar"}
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_TEXTUAL = {"p", "li", "td", "th", "dd", "dt", "pre", "blockquote", "figcaption", "address",
            *_HEADINGS}
_BLOCKS = {"p", "div", "section", "article", "main", "header", "footer", "ul", "ol", "li",
           "table", "thead", "tbody", "tfoot", "tr", "td", "th", "blockquote", "pre", "dl",
           "dt", "dd", "figure", "figcaption", "hr", "address", "details", "summary",
           "caption", "fieldset", "center", "br", *_HEADINGS}
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def convert(raw: bytes, name: str) -> Converted:
    root = _parse(raw, name)
    meta = _head(root)
    main = _main(root)
    if main is None:
        raise PolicyError(f"policy {name} is an HTML page with no main content (only "
                          "navigation, scripts or boilerplate)")
    writer = _Writer(main)
    writer.children(main)
    writer.flush()
    return Converted("html", "\n\n".join(writer.out) + "\n", 0, meta)


def _parse(raw: bytes, name: str) -> etree._Element:
    found = _CHARSET.search(raw[:4096])
    text = decode_text(raw, name, found.group(1).decode("ascii") if found else "utf-8")
    text = re.sub(r"\A\s*<\?xml[^>]*\?>", "", text)
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        raise PolicyError(f"policy {name} has no text to index") from None


def _head(root: etree._Element) -> dict[str, object]:
    meta: dict[str, object] = {}
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            meta.setdefault("canonical", link.get("href").strip())
    for tag in root.iter("meta"):
        key = (tag.get("property") or tag.get("name") or "").lower()
        if key in ("og:url", "og:title") and tag.get("content"):
            meta.setdefault(key.replace(":", "_"), tag.get("content").strip())
    title = root.find(".//title")
    if title is not None and title.text_content().strip():
        meta["title"] = title.text_content().strip()
    return meta


def _junk(el: etree._Element, page_has_main: bool = False) -> bool:
    if el.tag in _DROP or el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    if (el.get("role") or "").lower() in _ROLES or el.get("aria-modal") == "true":
        return True
    if re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", el.get("style") or ""):
        return True
    return is_chrome(el, page_has_main)


def _strip(root: etree._Element, tags: tuple[str, ...] = ()) -> None:
    page_has_main = any(_text(el) for el in root.iter("main", "article")) or any(
        _text(el) for el in root.iterfind(".//*[@role='main']"))
    for el in list(root.iter(etree.Element)):
        if el is root or el.getparent() is None:
            continue
        if el.tag in tags or _junk(el, page_has_main):
            el.drop_tree()
    for comment in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        comment.drop_tree()


def _main(root: etree._Element) -> etree._Element | None:
    _strip(root)
    for path in (".//main", ".//*[@role='main']"):
        found = root.find(path)
        if found is not None and _text(found):
            return found
    articles = [a for a in root.iter("article") if _text(a)]
    if articles:
        return max(articles, key=lambda a: len(_text(a)))
    _strip(root, _CHROME)
    scores: dict[etree._Element, float] = {}
    for el in root.iter(*_TEXTUAL):
        words = len(_text(el))
        links = sum(len(_text(a)) for a in el.iter("a"))
        score = words - 2 * links
        parent = el.getparent()
        if parent is not None and score > 0:
            scores[parent] = scores.get(parent, 0) + score
            grand = parent.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0) + score / 2
    if not scores:
        body = root.find("body")
        return body if body is not None and _text(body) else None
    return max(scores, key=lambda el: scores[el])


def _text(el: etree._Element) -> str:
    return " ".join(el.text_content().split())


class _Writer:
    """Walks the main content and writes the Markdown representation, one block per
    heading, paragraph, list item or table row."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.out: list[str] = []
        self.inline: list[str] = []
        self.anchor: str | None = None  # an empty <a id> waiting for its block
        self.depth = 0  # list nesting
        self.listing = False  # the last block written was a list item

    def block(self, el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _HEADINGS:
            self.flush()
            self.heading(el, int(tag[1]))
        elif tag in ("ul", "ol"):
            self.flush()
            self.depth += 1
            for item in el:
                self.item(item) if item.tag == "li" else self.block(item)
            self.depth -= 1
        elif tag == "table":
            self.flush()
            self.table(el)
        elif tag == "dt":
            self.flush()
            self.inline.append(f"**{escape(_text(el))}**" if _text(el) else "")
            self.flush()
        else:
            self.flush()
            self.anchor = self.anchor or el.get("id")  # lands on the first block inside
            self.children(el)
            self.flush()

    def children(self, el: etree._Element) -> None:
        if el.text:
            self.inline.append(escape(el.text))
        for child in el:
            if child.tag in _BLOCKS and child.tag != "br":
                self.block(child)
            else:
                self.inline.append(self.span(child, first=not "".join(self.inline).strip()))
            if child.tail:
                self.inline.append(escape(child.tail))

    def span(self, el: etree._Element, first: bool = False) -> str:
        """Inline content: text only, except links (kept, mailto: included) and bold
        at the start of a paragraph (a lead-in)."""
        if el.tag == "br":
            return " "
        if el.tag == "a" and not _text(el) and (el.get("id") or el.get("name")):
            if first:
                self.anchor = el.get("id") or el.get("name")
            return ""
        inner = escape(el.text or "") + "".join(
            self.span(c) + escape(c.tail or "") for c in el)
        href = (el.get("href") or "").strip()
        if el.tag == "a" and inner.strip() and re.match(r"(?i)(https?|mailto):", href):
            quoted = href.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
            return f"[{inner}](<{quoted}>)"
        if el.tag in ("strong", "b") and first and inner.strip():
            lead = inner.strip()
            return inner[: len(inner) - len(inner.lstrip())] + f"**{lead}**" + inner[
                len(inner.rstrip()):]
        return inner

    def flush(self) -> None:
        line = " ".join("".join(self.inline).split())
        self.inline = []
        if not line:
            return
        prefix = "  " * (self.depth - 1) + "- " if self.depth else ""
        text = prefix + guard_line_start(line) + attributes(self.anchor)
        if self.depth and self.listing and not self.anchor:
            self.out[-1] += "\n" + text  # a tight list: items on consecutive lines
        else:
            self.out.append(text)
        self.listing = bool(self.depth)
        self.anchor = None

    def heading(self, el: etree._Element, level: int) -> None:
        text = _text(el)
        if not text:
            return
        anchor = el.get("id") or next(
            (a.get("id") or a.get("name") for a in el.iter("a") if a.get("id") or a.get(
                "name")), None) or self.anchor or self.opened_section(el)
        self.out.append(heading(level, text, anchor))
        self.anchor, self.listing = None, False

    def item(self, li: etree._Element) -> None:
        self.flush()
        self.anchor = li.get("id") or self.anchor
        self.children(li)
        self.flush()

    def table(self, el: etree._Element) -> None:
        self.out.extend(table_blocks(el))
        self.listing = False

    def opened_section(self, el: etree._Element) -> str | None:
        """The id of a section/div whose first element is this heading."""
        parent = el.getparent()
        if (parent is not None and parent is not self.root and parent.get("id")
                and parent.tag in ("section", "div", "article") and parent.index(el) == 0
                and not (parent.text or "").strip()):
            return parent.get("id")
        return None


def table_fragment(fragment: str) -> list[str]:
    """The Markdown blocks of an HTML `<table>` written inside a Markdown file."""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return [guard_line_start(escape(fragment).strip())] if fragment.strip() else []
    _strip(root)
    found = root.find(".//table")
    return table_blocks(found) if found is not None else []


def table_blocks(el: etree._Element) -> list[str]:
    """A `<table>` as Markdown blocks: its caption, then a pipe table (the header row
    the rows of `<thead>`, else a first row of `<th>` only), each row's cells with their
    paragraphs and list items apart ("Technical data; Location"); [] if it has no text."""
    out = []
    caption = el.find("caption")
    if caption is not None and _text(caption):
        out.append(guard_line_start(escape(_text(caption)).strip()))
    rows = [tr for tr in el.iter("tr") if _cells(tr) and any(map(_text, _cells(tr)))]
    head = [tr for tr in rows if tr.getparent().tag == "thead"] or [
        tr for tr in rows[:1] if all(c.tag == "th" for c in _cells(tr))]
    if rows:
        header = [" ".join(t for t in texts if t) for texts in zip(*(
            [_text(c) for c in _cells(tr)] for tr in head), strict=False)]
        body = [[_cell(c) for c in _cells(tr)] for tr in rows if tr not in head]
        out.append(table(header or None, body or [[]]))
    return out


def _cells(tr: etree._Element) -> list[etree._Element]:
    return [c for c in tr if c.tag in ("td", "th")]


def _cell(cell: etree._Element) -> str:
    """A cell's text: its paragraphs and list items as parts (`cell_text`)."""
    parts = [""]

    def walk(el: etree._Element) -> None:
        parts[-1] += el.text or ""
        for child in el:
            block = child.tag in _BLOCKS
            if block:
                parts.append("")
            walk(child)
            if block:
                parts.append("")
            parts[-1] += child.tail or ""

    walk(cell)
    return cell_text(parts)
