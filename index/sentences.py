"""Sentence boundaries of reader text (what a quote is made of). Pure functions."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=[.!?])([\"”’')\]]*)\s+(?=[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(("e.g.", "i.e.", "inc.", "ltd.", "co.", "corp.", "mr.", "mrs.",
                            "ms.", "dr.", "st.", "no.", "vs.", "u.s.", "u.k.", "approx.", "cf.",
                            "fig."))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of reader text; a line break always ends
    a sentence (list items and lead-ins are units of their own)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for match in _BOUNDARY.finditer(line):
            words = line[start : match.start()].split()
            last = words[-1].lower().lstrip("\"“‘'([") if words else ""
            if last in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+", last):  # "P.O.", "a.m."
                continue
            spans.append((offset + start, offset + match.end(1)))
            start = match.end()
        if line[start:].strip():
            spans.append((offset + start, offset + len(line.rstrip())))
        offset += len(line) + 1
    return [(s, e) for s, e in spans if text[s:e].strip()]
