"""Anchor slugs of headings, as DESIGN.md's data contract fixes them (github-slugger's
rule). Pure functions."""

from __future__ import annotations

import re

_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


def slugify(heading: str) -> str:
    """github-slugger's rule: lower-case, drop punctuation except - and _, spaces to -.
    `heading` is the text a reader sees (see `heading_text` for a Markdown line)."""
    return _SLUG_DROP.sub("", heading.strip().lower()).replace(" ", "-")


def unique_slug(heading: str, seen: dict[str, int]) -> str:
    """Like github-slugger, repeated headings get -1, -2 … suffixes."""
    base = slugify(heading) or "section"
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"
