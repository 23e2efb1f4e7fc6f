"""The chunk record: one indexed span of a policy, what the splitter (index/split.py)
makes, the index saves (chunks.jsonl) and an answer quotes."""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Chunk:
    """`anchor` is where a link to the chunk lands (its section's heading, or an id
    the source gives a paragraph in it); `section_anchor` is always the heading's.
    `page` is the PDF page the chunk starts on (None for other formats); `page_turns`
    the offsets in `text` where each next page begins, for a chunk that runs across a
    page break. `document` is the id of the document it comes from in an index of
    several (else ""). `headers` are the table cells in `text` whose column has a label,
    as (start, end, column, label): embedded with the cell, never shown (index/tables.py)."""

    id: str
    section: str
    subsection: str | None
    anchor: str
    text: str
    start: int
    end: int
    page: int | None = None
    section_anchor: str = ""
    document: str = ""
    page_turns: tuple[int, ...] = ()
    headers: tuple[tuple[int, int, int, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.section_anchor:
            object.__setattr__(self, "section_anchor", self.anchor)
        object.__setattr__(self, "page_turns", tuple(self.page_turns))  # a JSON list
        object.__setattr__(self, "headers", tuple(
            (int(s), int(e), int(c), str(label)) for s, e, c, label in self.headers))

    def page_at(self, offset: int) -> int | None:
        """The PDF page of the character at `offset` in `text` (None: no pages)."""
        if self.page is None:
            return None
        return self.page + bisect.bisect_right(self.page_turns, offset)

    def to_dict(self) -> dict:
        """The saved form: `page`, `section_anchor`, `document`, `page_turns` and
        `headers` only when they say something (so a one-document chunks.jsonl without
        tables is as before, and old indexes load)."""
        row = asdict(self)
        if row["page"] is None:
            del row["page"]
        if row["section_anchor"] == row["anchor"]:
            del row["section_anchor"]
        for empty in ("document", "page_turns", "headers"):
            if not row[empty]:
                del row[empty]
        return row

    @classmethod
    def from_dict(cls, row: dict) -> Chunk:
        """A saved chunk; keys a later release added are left out (they only shape what
        a build embeds, which the index already holds), so a rollback can serve it."""
        if not isinstance(row, dict):
            raise TypeError(f"a chunk is a JSON object, not {type(row).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in row.items() if key in known})
