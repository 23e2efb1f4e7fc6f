"""Headings of a converted page that carry no id of their own (`bare_headings`): a link
to such a section's slug finds no element on the published page, so it scrolls by its
text fragment alone. `policy-qa build` says so for HTML pages (ui/cli/main.py)."""

from __future__ import annotations

from index.text import heading_id, heading_lines


def bare_headings(markdown: str) -> tuple[int, int]:
    """(headings with no id, headings) of a converted page's Markdown; an H1, the page
    title, is not counted (nobody links to the top of the page by its id)."""
    lines = markdown.split("\n")
    found = [(n, level) for n, level, _ in heading_lines(markdown) if level > 1]
    bare = sum(1 for n, _ in found
               if heading_id(lines[n], lines[n + 1] if n + 1 < len(lines) else "") is None)
    return bare, len(found)
