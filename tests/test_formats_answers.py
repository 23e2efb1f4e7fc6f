"""The same policy in four formats gives the same answers (issue: bring your own policy).

The OpenGov privacy policy as Markdown, a saved HTML page, a PDF and a Word file is
indexed with the real packaged model; twelve of the independently written visitor
questions (tests/data/opengov-questions.jsonl, the first twelve answerable ones) must
land in the same top section as the Markdown build for at least eleven, every quote must
be text a reader of that format sees, and a PDF answer links to its page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from index.policy import load_policy
from index.store import build_index
from qa.service import Service
from qa.settings import Settings

DATA = Path(__file__).parent / "data"
OPENGOV = DATA / "policies" / "opengov" / "privacy-policy"
FORMATS = ("md", "html", "pdf", "docx")


def _questions(n: int = 12) -> list[str]:
    rows = [json.loads(line) for line in (DATA / "opengov-questions.jsonl").open(encoding="utf-8")]
    return [r["question"] for r in rows if r["answerable"]][:n]


@pytest.fixture(scope="module")
def services(embedder):
    out = {}
    for ext in FORMATS:
        policy = load_policy(OPENGOV.with_suffix(f".{ext}"),
                             base_url=f"https://example.org/privacy-policy.{ext}")
        index = build_index(policy, embedder)
        out[ext] = Service(Settings(cache_size=0), index=index, embedder=embedder)
    return out


def _top_section(service: Service, question: str) -> str:
    answer = service.ask(question)
    assert answer.passages, question
    anchor = answer.passages[0].anchor
    return next(c.section for c in service.index.chunks if c.anchor == anchor)


@pytest.mark.parametrize("ext", ["html", "pdf", "docx"])
def test_eleven_of_twelve_questions_get_the_markdown_builds_top_section(services, ext):
    questions = _questions()
    assert len(questions) == 12
    same = [q for q in questions
            if _top_section(services[ext], q) == _top_section(services["md"], q)]
    assert len(same) >= 11, sorted(set(questions) - set(same))


def _readable(text: str) -> str:
    """What a reader of any format sees: words, typographic quotes as plain ones."""
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))
    return " ".join(text.split())


@pytest.mark.parametrize("ext", FORMATS)
def test_every_quote_is_verbatim_text_of_its_format(services, ext):
    """Quotes come from the chunks' text, which tests/test_formats.py checks is the
    page's, the document's or the text layer's own words."""
    service = services[ext]
    body = _readable(" ".join(c.text for c in service.index.chunks))
    for question in _questions():
        for passage in service.ask(question).passages:
            # a list item and its opening apart at "…", a list's items at "; " (quotes.py)
            for piece in re.split("\u2026|; ", passage.quote):
                assert _readable(piece) in body, (ext, passage.quote)


def test_a_pdf_answer_links_to_its_page_with_the_text_fragment(services):
    service = services["pdf"]
    pages = {c.anchor: c.page for c in service.index.chunks}
    for question in _questions(4):
        for passage in service.ask(question).passages:
            match = re.fullmatch(r"https://example\.org/privacy-policy\.pdf#page=(\d+)"
                                 r":~:text=\S+", passage.url)
            assert match, passage.url
            assert 1 <= int(match.group(1)) <= 5
    assert all(page for page in pages.values())


def _page_texts(pdf_path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(pdf_path) as pdf:
        return [" ".join((page.extract_text() or "").split()) for page in pdf.pages]


def test_every_pdf_sentence_links_to_the_page_it_is_on(services):
    """A paragraph or chunk that runs on across a page break: each sentence's page is
    the one the text layer has it on (the chunk's first page before: 3 of the audit's
    quotes opened a page early, e.g. "We use session cookies …" on page 1, not 2)."""
    from index.sentences import sentence_spans

    pages = _page_texts(OPENGOV.with_suffix(".pdf"))
    checked = 0
    for chunk in services["pdf"].index.chunks:
        for start, end in sentence_spans(chunk.text):
            opening = " ".join(chunk.text[start:end].split()[:6])
            on = [n for n, text in enumerate(pages, 1) if opening in text]
            if len(opening) >= 20 and len(on) == 1:  # a page that alone has these words
                checked += 1
                assert chunk.page_at(start) == on[0], (chunk.id, opening)
    assert checked >= 50
    assert sum(bool(c.page_turns) for c in services["pdf"].index.chunks) >= 2
    cookies = services["pdf"].ask("What cookies do you use?")
    session = [p for p in cookies.passages if p.quote.startswith("We use session cookies")]
    assert session and "#page=2:" in session[0].url, [p.url for p in cookies.passages]


def test_other_formats_link_to_the_section_anchor(services):
    for ext in ("md", "html", "docx"):
        passage = services[ext].ask(_questions(1)[0]).passages[0]
        assert passage.url.startswith(f"https://example.org/privacy-policy.{ext}#"
                                      f"{passage.anchor}:~:text="), passage.url
