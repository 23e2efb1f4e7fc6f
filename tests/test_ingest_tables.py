"""Tables as a reader reads them: each row a line of its own (what it is about beside
what it says), cells apart, list items in a cell apart ("Technical data; Location"), the
header row no text (never a passage of its own); a quote's link text fragment is one
cell's words, which the published page can match (a text fragment never spans cells)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.policy import load_policy, parse_policy
from index.sentences import sentence_spans
from index.split import split_policy
from index.store import build_index
from index.text import render_block
from qa.answering.answer import text_fragment
from qa.answering.quotes import quote_of
from qa.answering.retrieve import Hit
from qa.service import Service
from qa.settings import Settings

ACCOUNTS = Path(__file__).parent / "data" / "policies" / "mozilla" / (
    "mozilla_accounts_privacy_notice.html")
TABLE_SECTIONS = ("How we share your personal data", "Data definitions", "Lawful bases")
_LEAVES = ("p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "caption")


def _page_blocks(path: Path) -> list[str]:
    """The text of each innermost block of the page: what one text fragment can match."""
    page = lxml.html.document_fromstring(path.read_text("utf-8"))
    return [" ".join(el.text_content().split()).lower() for el in page.iter(*_LEAVES)
            if next(el.iterdescendants(*_LEAVES), None) is None]


@pytest.fixture(scope="module")
def accounts():
    policy = load_policy(ACCOUNTS)
    return policy, split_policy(policy)


def test_html_table_rows_read_as_lines_with_list_items_apart(accounts):
    _, chunks = accounts
    lines = [line for c in chunks if c.section == "Lawful bases" for line in c.text.split("\n")]
    assert (
        "To provide and improve security | Technical data; Location; Unique identifiers; "
        "Authorization data; Contact data | Contract to provide a secure infrastructure to "
        "enable Mozilla accounts to operate. Legitimate interest in providing additional "
        "security measures, such as the ability to use 2-factor authentication.") in lines
    assert "What we use your data for" not in " ".join(lines)  # the header row


def test_every_sentence_of_a_table_links_with_a_fragment_the_page_can_match(accounts):
    policy, chunks = accounts
    page_text = render_block(policy.body, keep_headings=True).lower()
    blocks = _page_blocks(ACCOUNTS)
    checked = 0
    for chunk in (c for c in chunks if c.section in TABLE_SECTIONS):
        for start, end in sentence_spans(chunk.text):
            anchor = quote_of(Hit(chunk, 0.5, 0.5, 0.0, ((start, end, 0.5),))).anchor_text
            fragment = unquote(text_fragment(anchor, page_text).split("=", 1)[1]).lower()
            assert "|" not in fragment
            assert any(fragment in block for block in blocks), (fragment, anchor)
            checked += 1
    assert checked >= 25


def test_the_lawful_basis_answer_quotes_a_cell_not_the_header_row(embedder, accounts):
    policy, _ = accounts
    service = Service(Settings(cache_size=0), index=build_index(policy, embedder),
                      embedder=embedder)
    answer = service.ask("What is your lawful basis for processing my data for security?")
    blocks = _page_blocks(ACCOUNTS)
    assert answer.passages
    for passage in answer.passages:
        assert "What we use your data for" not in passage.quote
        fragment = unquote(passage.url.split(":~:text=", 1)[1]).lower()
        assert "%7c" not in passage.url.lower() and "|" not in fragment
        assert any(fragment in block for block in blocks), passage.url


def test_markdown_pipe_tables_read_like_html_tables():
    md = ("# P\n\n## Retention\n\n| Data | Kept |\n| --- | --- |\n| Orders | 7 years |\n"
          "| Logs \\| traces | 14 days |\n")
    html = ("<main><h1>P</h1><h2>Retention</h2><table><thead><tr><th>Data</th><th>Kept</th>"
            "</tr></thead><tbody><tr><td>Orders</td><td>7 years</td></tr><tr><td>Logs | traces"
            "</td><td><p>14 days</p></td></tr></tbody></table></main>")
    texts = [[c.text for c in split_policy(parse_policy(doc, name=name))]
             for doc, name in ((md, "p.md"), (html, "p.html"))]
    assert texts[0] == texts[1] == ["Orders | 7 years\nLogs | traces | 14 days"]


def test_html_tables_without_a_header_row_and_with_two():
    page = ("<main><h1>P</h1><table><tr><td>Orders</td><td><ul><li>name</li><li>address"
            "</li></ul></td></tr></table><table><thead><tr><th>Data</th></tr><tr><th>Kept</th>"
            "</tr></thead><tr><td>Logs</td></tr></table><p>The end.</p></main>")
    chunks = split_policy(parse_policy(page, name="p.html"))
    assert "\n".join(c.text for c in chunks) == "Orders | name; address\nLogs\nThe end."


def test_a_cut_never_falls_between_the_header_row_and_its_delimiter():
    from index.split import SplitSettings

    intro = "We keep these records for as long as the law requires us to keep them."
    md = f"# P\n\n{intro}\n| Record | Kept |\n| --- | --- |\n| Orders | 7 years |\n"
    for size in range(40, 120, 7):
        chunks = split_policy(parse_policy(md, name="p.md"), SplitSettings(chunk_size=size))
        assert "Record" not in " ".join(c.text for c in chunks), size


def test_a_quote_from_a_row_links_with_words_of_one_block(accounts):
    import dataclasses

    _, chunks = accounts
    row = "Orders | Your name; postal address; phone number | 7 years"
    chunk = dataclasses.replace(chunks[0], text=row)
    quote = quote_of(Hit(chunk, 0.5, 0.5, 0.0, ((0, len(row), 0.5),)))
    assert quote.text == row  # shown whole, the row's label beside what it says
    assert quote.anchor_text == "postal address"  # one list item: one block of the page


def test_a_raw_html_table_in_markdown_reads_like_the_same_table_in_a_page():
    table = ("<table>\n  <thead>\n    <tr><th>What we use your data for</th><th>Data</th></tr>\n"
             "  </thead>\n  <tbody>\n    <tr>\n      <td><a id=\"use\"></a>To run the service</td>"
             "\n      <td>\n        <ul>\n          <li>Technical data</li>\n          <li>Location"
             "</li>\n        </ul>\n      </td>\n    </tr>\n    <tr><td>To <b>market</b></td>"
             "<td><p>Contact data</p></td></tr>\n  </tbody>\n</table>\n")
    md = f"# P\n\n## Lawful bases\n\nWe rely on these bases.\n{table}\nThe end.\n"
    page = f"<main><h1>P</h1><h2>Lawful bases</h2><p>We rely on these bases.</p>{table}" \
           "<p>The end.</p></main>"
    texts = [[c.text for c in split_policy(parse_policy(doc, name=name))]
             for doc, name in ((md, "p.md"), (page, "p.html"))]
    assert texts[0] == texts[1] == [
        "We rely on these bases.", "To run the service | Technical data; Location\n"
        "To market | Contact data", "The end."]


def test_html_tables_in_code_or_unclosed_stay_as_written():
    fenced = "# P\n\n## Code\n\n```html\n<table><tr><td>x</td></tr></table>\n```\n"
    assert parse_policy(fenced, name="p.md").source == fenced
    inline = "# P\n\n## Code\n\n```x``` is code.\n\n<table><tr><td>kept 7 years</td></tr></table>\n"
    assert "| kept 7 years |" in parse_policy(inline, name="p.md").source  # no fence opened
    unclosed = "# P\n\n## Odd\n\n<table><tr><td>Orders kept 7 years</td></tr>\n"
    assert "Orders kept 7 years" in split_policy(parse_policy(unclosed, name="p.md"))[0].text
    nested = ("# P\n\n## Nested\n\n<table><tr><td>Outer <table><tr><td>inner</td></tr></table>"
              "</td><td>kept</td></tr></table>\nAfter.\n")
    text = "\n".join(c.text for c in split_policy(parse_policy(nested, name="p.md")))
    assert "kept" in text and "After." in text and "<" not in text


def test_the_markdown_accounts_notice_reads_its_html_table_like_the_page():
    """The Markdown copy of the accounts notice writes its lawful-bases table as raw
    HTML; its rows read as the HTML page's do, the header row no text."""
    markdown = load_policy(ACCOUNTS.with_suffix(".md"))
    rows = {c.text for c in split_policy(markdown) if c.section == "Lawful bases"}
    page = {c.text for c in split_policy(load_policy(ACCOUNTS)) if c.section == "Lawful bases"}
    assert rows == page
    assert not any("What we use your data for" in text for text in rows)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>",
                                 "<th>", "<thead>", "<ul><li>", "Orders", "kept", "\n",
                                 "\n\n", "```\n", "| a | b |\n", "# T\n", "  "]),
                max_size=40))
def test_any_mix_of_table_tags_in_markdown_reads_without_tags_or_errors(parts):
    md = "# P\n\n## S\n\n" + "".join(parts) + "\nThe end.\n"
    chunks = split_policy(parse_policy(md, name="p.md"))
    text = "\n".join(c.text for c in chunks)
    assert "The end." in text
    assert "<td>" not in text and "</table>" not in text


def test_table_tags_are_matched_in_one_pass(monkeypatch):
    """An unclosed `<table` on every line of a 5 MB file must not be matched line by line
    to the end of the file (quadratic: minutes); the tags are read once."""
    from index.formats import markdown

    scans = []
    real = markdown._TABLE_TAG

    class Counting:
        def finditer(self, text, *args):
            scans.append(len(text))
            return real.finditer(text, *args)

    monkeypatch.setattr(markdown, "_TABLE_TAG", Counting())
    text = "<table>\n" * 2_000 + "<table><tr><td>x</td></tr></table>\n"
    assert markdown.html_tables(text).count("| x |") == 1
    assert len(scans) == 1
