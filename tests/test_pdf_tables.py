"""Ruled tables in a PDF read as the same tables in the HTML page (index/formats/
pdf_tables.py): a row a line, cells apart, list items in a cell apart, the header row no
text, a table going on across pages one table, and a row cut by a page break whole. The
PDF is the accounts notice's HTML printed by Chromium with cell borders
(scripts/print_ruled_pdf.sh)."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest

from index.formats.pdf_tables import PdfTable, continued, page_tables
from index.policy import load_policy
from index.split import split_policy

MOZILLA = Path(__file__).parent / "data" / "policies" / "mozilla"
PDF = MOZILLA / "mozilla_accounts_privacy_notice.ruled.pdf"
HTML = MOZILLA / "mozilla_accounts_privacy_notice.html"
HEADERS = ("What we use your data for", "Data Type", "Examples for Mozilla")


def _rows(chunks) -> list[str]:
    return [line for c in chunks for line in c.text.split("\n") if " | " in line]


@pytest.fixture(scope="module")
def chunks():
    return split_policy(load_policy(PDF)), split_policy(load_policy(HTML))


def test_the_printed_tables_read_row_for_row_as_the_page(chunks):
    pdf, html = chunks
    assert len(_rows(html)) == 20
    assert _rows(pdf) == _rows(html)
    assert ("To provide and improve security | Technical data; Location; Unique identifiers; "
            "Authorization data; Contact data | Contract to provide a secure infrastructure "
            "to enable Mozilla accounts to operate. Legitimate interest in providing "
            "additional security measures, such as the ability to use 2-factor "
            "authentication.") in _rows(pdf)


def test_this_pdf_cuts_a_row_across_a_page_break():
    """The row above is cut by a page break in the file: the next page repeats the header
    row, then goes on with the cut row, its first cell empty (what `continued` joins)."""
    with pdfplumber.open(PDF) as pdf:
        cut = []
        for number, page in enumerate(pdf.pages, 1):
            words = page.extract_words(x_tolerance=1.5, y_tolerance=3,
                                       extra_attrs=["fontname", "size"])
            tables, _ = page_tables(page, number, words)
            cut += [t for t in tables if t.header and t.rows and not t.rows[0][0]]
    assert [t.rows[0][1] for t in cut] == ["Authorization data; Contact data"]


def test_header_rows_are_no_text_and_title_nothing(chunks):
    pdf, _ = chunks
    text = "\n".join(c.text for c in pdf)
    for header in HEADERS:
        assert header not in text
    assert not [c.subsection for c in pdf if c.subsection and any(
        h.split()[0] in c.subsection for h in HEADERS)]
    assert [c.section for c in pdf if " | " in c.text][:1] == ["How we share your personal data"]


def test_a_question_on_the_pdf_quotes_a_row_and_links_its_page(chunks, embedder):
    from index.store import build_index
    from qa.service import Service
    from qa.settings import Settings

    service = Service(Settings(cache_size=0), index=build_index(load_policy(PDF), embedder),
                      embedder=embedder)
    first = service.ask("What counts as technical data?").passages[0]
    assert first.section == "Data definitions"
    assert first.quote.startswith("Technical data | This is information about the hardware")
    # one cell's words, on the page that row is printed on: the table starts on page 4
    # and goes on; this row is on page 5 (pdfplumber's text of page 5 has it)
    assert "#page=5:~:text=This%20is%20information" in first.url


def _table(page, header, *rows, items=()):
    return PdfTable(page, 0.0, 10.0, 10.0, header, tuple(rows), tuple(items))


def test_a_table_going_on_on_the_next_page_is_one_table():
    before = _table(1, ("Data", "Kept"), ("Orders", "7 years"), ("Logs", "name; IP"))
    repeated = _table(2, ("Data", "Kept"), ("", "address"), ("Mail", "1 year"),
                      items=(False, True))
    joined = continued(before, repeated)
    assert joined.rows == (("Orders", "7 years"), ("Logs", "name; IP; address"),
                           ("Mail", "1 year"))
    assert joined.header == ("Data", "Kept") and joined.bottom == 10.0
    assert joined.turns == ((2, 2),)  # page 2's first whole row: "Mail"
    plain = continued(before, _table(2, (), ("", "of 2024"), items=(False, False)))
    assert plain.rows[-1] == ("Logs", "name; IP of 2024")  # a sentence goes on


@pytest.mark.parametrize("after", [
    _table(3, (), ("Mail", "1 year")),  # not the next page
    _table(2, (), ("Mail", "1 year", "x")),  # other columns
    _table(2, ("Other", "Header"), ("Mail", "1 year")),  # another table
])
def test_other_tables_are_not_joined(after):
    assert continued(_table(1, ("Data", "Kept"), ("Orders", "7 years")), after) is None


def test_the_printed_pdf_reads_as_its_page_drawn_bullets_included(chunks):
    """A browser draws a list's bullets as shapes: each item is still a line of its own,
    and the PDF has the page's sections, sub-sections and nearly all of its lines."""
    pdf, html = chunks
    assert list(dict.fromkeys((c.section, c.subsection) for c in pdf)) == list(
        dict.fromkeys((c.section, c.subsection) for c in html))
    lines = [line for c in pdf for line in c.text.split("\n")]
    assert ("Responding to requests to exercise privacy rights, such as your right to access "
            "or delete your personal data.") in lines
    page_lines = {line for c in html for line in c.text.split("\n")}
    assert len(page_lines.intersection(lines)) >= 0.85 * len(page_lines)


def test_a_table_with_a_header_after_one_without_is_another_table():
    assert continued(_table(1, (), ("Orders", "7 years")),
                     _table(2, ("Data", "Kept"), ("Mail", "1 year"))) is None
