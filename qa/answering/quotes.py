"""Quotes: the sentences of a hit that answer, whole, verbatim.

A quote is the hit's best sentence, grown by neighbours on the same line that score
nearly as well (up to MAX_QUOTE_CHARS). Two kinds of line are not sentences by
themselves, and are made whole here with the policy's own words and one fixed mark,
the ellipsis "…" for what is left out:

- a title line inside a chunk (a minor heading or bold lead-in such as "Do Not Track")
  is never the quote while the chunk has a sentence: the best non-title sentence is;
- a list item that is part of a sentence ("when we believe … or respond to a government
  request,") gets the sentence's opening, the line before the list that ends in ":"
  (found in the page, so also when it is in the chunk before), then " … " if items lie
  between, and " …" in place of a trailing ",", ";", "or" or "and" when the list goes on:
  “We may also disclose your personal information: … when we believe … a government
  request …”;
- a sentence that ends with ":" (“… including situations such as:”, “… or by mail at:”)
  goes on with the lines after it, the list or address it announces, within
  MAX_QUOTE_CHARS: its items kept apart with CELL_ITEMS ("; ", as a table cell's items
  are shown), or with a space after an item that ends in ",", ";", "or" or "and" (the
  policy's own words join them), and " …" in place of a trailing ",", ";", "or" or
  "and" when the list goes on past the quote: “… such as: site testing; diagnosis of
  technical problems; … short-term circumstances …”.

Every piece (between those marks) is a verbatim run of the page's reader text, with
nothing added but the marks; the link's text fragment is built from the item (the part
that answers), see `Quote.anchor_text`, for a table row from its longest cell, and for a
sentence ending with ":" from that sentence (a page shows cells and list items apart,
so no fragment can span them).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from index.sentences import sentence_spans
from index.text import CELL_ITEMS, CELL_SEPARATOR
from qa.answering.retrieve import Hit

MAX_QUOTE_CHARS = 420
NEIGHBOUR_MARGIN = 0.06
ELLIPSIS = "\u2026"
MAX_LIST_LINES = 12  # how far back a list's opening line is looked for
_TRAILING = re.compile(r"(?:[,;]\s*(?:or|and)?|\s+(?:or|and))\s*$")
_ENDS_SENTENCE = re.compile(r"[.!?][\"”’')\]]*$")


@dataclass(frozen=True)
class Quote:
    """`text` as shown; `anchor_text` the verbatim words the link scrolls to."""

    text: str
    anchor_text: str


class PageLines:
    """The page's reader text as lines, to find the opening line of a list. `titles`
    are the section and sub-section headings, which a list never runs across."""

    def __init__(self, page_text: str, titles: Iterable[str] = ()) -> None:
        self.lines = page_text.split("\n")
        self.titles = {t.strip() for t in titles if t}
        self._where: dict[str, list[int]] = defaultdict(list)
        for i, line in enumerate(self.lines):
            self._where[line.strip()].append(i)

    def opening(self, line: str) -> tuple[str, bool, bool] | None:
        """For a list item `line`: (the sentence opening its list, whether items lie
        between, whether the list goes on after it), or None if there is no such
        opening or the line is not once in the page."""
        found = self._where.get(line.strip(), [])
        if len(found) != 1:
            return None
        at = found[0]
        goes_on = at + 1 < len(self.lines) and _is_item(self.lines[at + 1], self.titles)
        for back in range(1, MAX_LIST_LINES + 1):
            j = at - back
            if j < 0:
                return None
            text = self.lines[j].strip()
            if text.endswith(":") and text not in self.titles:
                return _last_sentence(text), back > 1, goes_on
            if not _is_item(text, self.titles):
                return None
        return None


def _is_item(line: str, titles: set[str]) -> bool:
    """A line that reads as a list item inside a sentence, not a sentence or a title."""
    text = line.strip()
    if not text or text in titles or is_title(text):
        return False
    return text[0].islower() or not _ENDS_SENTENCE.search(text)


def is_title(line: str) -> bool:
    """A short line in Title Case without end punctuation: a minor heading or lead-in."""
    text = line.strip()
    words = text.split()
    if not words or len(words) > 8 or text[-1] in ".!?:,;":
        return False
    long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    return bool(long_words) and all(w[0].isupper() for w in long_words)


def _last_sentence(line: str) -> str:
    spans = sentence_spans(line)
    return line[spans[-1][0]:spans[-1][1]] if spans else line


def quote_for(hit: Hit, page: PageLines | None = None) -> str:
    """The quote's text (see `quote_of`)."""
    return quote_of(hit, page).text


def quote_of(hit: Hit, page: PageLines | None = None) -> Quote:
    """The best whole sentences of the hit; list items with their opening when `page`
    is given (module docstring)."""
    text = hit.chunk.text
    if not hit.sentences:
        cut = text[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] if len(text) > MAX_QUOTE_CHARS else text
        return Quote(cut, cut)
    sents = list(hit.sentences)
    lo, hi = _grow(text, sents, _best(text, sents))
    core = text[sents[lo][0]: sents[hi][1]]
    announced = _what_follows_a_colon(text, sents[hi][1], core)
    if announced is not None:  # "… by mail at:" / "… such as:" and the lines after it
        return announced
    if CELL_SEPARATOR in core:  # a table row: the page shows its cells apart
        return Quote(core, _one_block(core))
    line_start = text.rfind("\n", 0, sents[lo][0]) + 1
    line_end = text.find("\n", sents[hi][1])
    line = text[line_start: len(text) if line_end < 0 else line_end]
    if page is None or not _is_item(line, page.titles) or line.strip() != core.strip():
        return Quote(core, core)
    opening = page.opening(line)
    if opening is None:
        return Quote(core, core)
    intro, skipped, goes_on = opening
    item = _TRAILING.sub("", core).rstrip() if goes_on else core
    shown = f"{intro} {ELLIPSIS + ' ' if skipped else ''}{item}{' ' + ELLIPSIS if goes_on else ''}"
    if len(shown) > MAX_QUOTE_CHARS:
        return Quote(core, core)
    return Quote(shown, item)


def _one_block(row: str) -> str:
    """The words of a table row that one block of the page shows: its longest cell, and
    of a cell's list ("Technical data; Location"), its longest item."""
    cell = max(row.split(CELL_SEPARATOR), key=len)
    return max(cell.split(CELL_ITEMS), key=len).strip()


def _best(text: str, sents: list) -> int:
    """The best-scoring sentence that is not a title line (if there is one)."""
    order = sorted(range(len(sents)), key=lambda i: -sents[i][2])
    for i in order:
        if not is_title(_line_of(text, sents[i])):
            return i
    return order[0]


def _line_of(text: str, sent: tuple) -> str:
    start = text.rfind("\n", 0, sent[0]) + 1
    end = text.find("\n", sent[1])
    line = text[start: len(text) if end < 0 else end]
    return line if line.strip() == text[sent[0]: sent[1]].strip() else ""


def _grow(text: str, sents: list, best: int) -> tuple[int, int]:
    lo = hi = best
    floor = sents[best][2] - NEIGHBOUR_MARGIN
    while True:
        options = [i for i in (lo - 1, hi + 1) if 0 <= i < len(sents)
                   and sents[i][2] >= floor and _same_line(text, sents, min(i, lo), max(i, hi))
                   and not is_title(_line_of(text, sents[i]))]
        options = [i for i in options
                   if sents[max(i, hi)][1] - sents[min(i, lo)][0] <= MAX_QUOTE_CHARS]
        if not options:
            return lo, hi
        pick = max(options, key=lambda i: sents[i][2])
        lo, hi = min(lo, pick), max(hi, pick)


MAX_ADDRESS_LINE = 120  # a line of an address or a short list: no full stop, not long


def _what_follows_a_colon(text: str, end: int, core: str) -> Quote | None:
    """A quote `core` (ending at `end` in `text`) that ends "… or by mail at:" or "…
    such as:" goes on with the lines after it (the address or list it announces), items
    kept apart (`_join`), within MAX_QUOTE_CHARS and " …" for the rest of a list it
    cannot hold; linked by `core` itself. None when no line follows that fits."""
    if not core.rstrip().endswith(":"):
        return None
    line_end = text.find("\n", end)
    # each line after it up to its first sentence's end (a sentence ending ends the list)
    lines = [] if line_end < 0 else [_first_sentence(x) for x in text[line_end + 1:].split("\n")]
    pieces, goes_on = [core.strip()], False
    for at, line in enumerate(lines[:MAX_LIST_LINES]):
        if not _continues(line, pieces[-1]):
            break
        more = bool(_TRAILING.search(line)) or (
            at + 1 < len(lines) and _continues(lines[at + 1], line))
        if len(_join([*pieces, line])) + (len(" " + ELLIPSIS) if more else 0) > MAX_QUOTE_CHARS:
            goes_on = True  # a line that goes on is left out
            break
        pieces.append(line)
        goes_on = more
    if len(pieces) == 1:
        return None
    if goes_on:  # mid-list: " …" in place of a trailing ",", ";", "or" or "and"
        pieces[-1] = _TRAILING.sub("", pieces[-1]).rstrip()
        return Quote(_join([p for p in pieces if p]) + " " + ELLIPSIS, core.strip())
    return Quote(_join(pieces), core.strip())


def _first_sentence(line: str) -> str:
    spans = sentence_spans(line)
    return line[spans[0][0]: spans[0][1]].strip() if spans else line.strip()


def _continues(line: str, before: str) -> bool:
    """Whether `line` goes on from the line `before` in the list or address a colon
    announced: any line after a trailing ",", ";", "or" or "and" and any line that opens
    in lower case; else a short line with no end punctuation (an address line or an
    item) after a line without one. A table row is no item."""
    if not line or line.endswith(":") or CELL_SEPARATOR in line:
        return False
    if _TRAILING.search(before) or line[0].islower():
        return True
    return before[-1] not in ".!?" and len(line) <= MAX_ADDRESS_LINE and line[-1] not in ".!?"


def _join(pieces: list[str]) -> str:
    """Lines shown as one: apart with CELL_ITEMS, or a space where the line before ends
    with ":" or a trailing ",", ";", "or" or "and" (the policy's own joining words)."""
    out = pieces[0]
    for piece in pieces[1:]:
        out += (" " if out.endswith(":") or _TRAILING.search(out) else CELL_ITEMS) + piece
    return out


def _same_line(text: str, sents: list, lo: int, hi: int) -> bool:
    return "\n" not in text[sents[lo][0]: sents[hi][1]]
