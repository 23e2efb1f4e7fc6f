"""The pages an index's documents are published at, as answers link to them.

Each document of an index has its own page: a quote links to that page's URL with the
chunk's anchor and a text fragment that must be unique within that page's text, so
the text fragment is chosen against the document's own reader text.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.store import PolicyIndex
from index.text import render_block
from qa.records import DocumentRef


@dataclass(frozen=True)
class Page:
    """A document as links see it: who it is, the URL links start with ("" for
    fragment-only links) and its reader text, lower-cased (for text fragments), and
    as written (`reader`, where a quote finds the opening line of a list)."""

    document: DocumentRef | None
    base_url: str
    text: str
    reader: str = ""


def pages_for(index: PolicyIndex, base_url: str = "") -> dict[str, Page]:
    """Each document's page by the `document` its chunks carry ("" for an index of one
    document). `base_url` (a setting) is the page of an index of one document."""
    docs = index.documents
    out: dict[str, Page] = {}
    for doc in docs:
        url = (base_url or doc.url) if len(docs) == 1 else doc.url
        reader = render_block(index.source[doc.start : doc.end], keep_headings=True)
        out[doc.id if len(docs) > 1 else ""] = Page(DocumentRef(doc.id, doc.title, url), url,
                                                    reader.lower(), reader)
    return out
