"""A quote that ends with a colon and goes on with the list it announces
(qa/answering/quotes.py): the items are kept apart ("; ", as a table cell's items are
shown), never run together ("your full name your email address"); a list the quote cannot
hold ends with " …", never on a trailing "or"; every piece is the page's own words; the
link's words are one line of the page (a text fragment cannot span two list items); a
sentence of prose is quoted as it was."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from index.policy import load_policy, parse_policy
from index.sentences import sentence_spans
from index.split import split_policy
from index.store import build_index
from index.text import CELL_ITEMS, render_block
from qa.answering.answer import text_fragment
from qa.answering.quotes import ELLIPSIS, MAX_QUOTE_CHARS, PageLines, Quote, quote_of
from qa.answering.retrieve import Hit
from qa.service import Service
from qa.settings import Settings

OPENGOV = Path(__file__).parent / "data" / "policies" / "opengov" / "privacy-policy"

SIGN_UP = ("# List Policy\n\nContact privacy@list.example.\n\n## What we collect\n\n"
           "We collect the following data when you sign up:\n\n- your full name\n"
           "- your email address\n- your date of birth\n- your billing address\n\n"
           "## Sharing\n\nWe share data with our payment processor only.\n")
ITEMS = ("*   site testing\n*   diagnosis of technical problems\n"
         "*   defending against attacks to the site\n"
         "*   handling a spike in traffic or other abnormal, short-term circumstances, or\n"
         "*   research projects ( in anonymized form ) that serve our overall mission.\n")
LONG_OPENING = ("Circumstances in which OpenGov may need to log and retain technical information "
                "for longer than seven days include when we believe it is reasonably necessary "
                "for OpenGov's mission and functionality, including situations such as:")
LOGGING = ("# Privacy Policy\n\n### Logging\n\nFor visitors to our main website we generally log "
           f"requests. {LONG_OPENING}\n\n{ITEMS}\nIn those and similar situations we will delete "
           "the information as soon as it is apparent that it is no longer needed.\n")
SHORT = LOGGING.replace(LONG_OPENING, "We may keep server logs longer for:")
ADDRESS = ("# Notice\n\n## Your rights\n\nIf you are in the EEA, you can also contact our Data "
           "Protection Officer at dpo@acme.example, or by mail at:\n\nAcme DPO Services SRL<br>\n"
           "Avenue Louise 235<br>\n1050 Brussels<br>\nBelgium<br>\n\nWe respond to all requests "
           "within one month of receiving them, as the law requires.\n")
PROSE = ("# P\n\n## Retention\n\nWe keep server logs for seven days. After that we delete them, "
         "unless the law requires otherwise.\n\nWe retain the following:\n\nBackups are kept "
         "for thirty days.\n")


def _quote(markdown: str, opening: str, name: str = "p.md") -> tuple[Quote, str]:
    """The quote of the chunk sentence that starts with `opening` when it scores best,
    and the page's reader text."""
    policy = parse_policy(markdown, name=name)
    return _quote_in(policy, opening)


def _quote_in(policy, opening: str) -> tuple[Quote, str]:
    reader = render_block(policy.body, keep_headings=True)
    for chunk in split_policy(policy):
        spans = sentence_spans(chunk.text)
        for i, (start, end) in enumerate(spans):
            if chunk.text[start:end].startswith(opening):
                scores = tuple((s, e, 0.9 if j == i else 0.3) for j, (s, e) in enumerate(spans))
                return quote_of(Hit(chunk, 0.5, 0.5, 0.0, scores), PageLines(reader)), reader
    raise AssertionError(f"no sentence opens with {opening!r}")


def _pieces(quote: str) -> list[str]:
    """The verbatim runs of a quote: apart at the ellipsis and at the items' separator."""
    return [p.strip() for part in quote.split(ELLIPSIS) for p in part.split(CELL_ITEMS)
            if p.strip()]


def _one_line_holds(words: str, reader: str) -> bool:
    return any(words in line for line in reader.split("\n"))


def test_list_items_announced_by_a_colon_are_kept_apart():
    quote, _ = _quote(SIGN_UP, "We collect the following")
    assert quote.text == ("We collect the following data when you sign up: your full name; "
                          "your email address; your date of birth; your billing address")
    assert "name your email" not in quote.text


def test_a_list_too_long_for_the_quote_ends_with_the_ellipsis_not_on_or():
    """OpenGov's logging list: the last item does not fit in MAX_QUOTE_CHARS, so the
    quote ends with " …" in place of the item's trailing ", or"."""
    quote, _ = _quote(LOGGING, "Circumstances in which")
    assert quote.text == (
        f"{LONG_OPENING} site testing; diagnosis of technical problems; defending against "
        "attacks to the site; handling a spike in traffic or other abnormal, short-term "
        f"circumstances {ELLIPSIS}")
    assert len(quote.text) <= MAX_QUOTE_CHARS
    assert not re.search(r"(?:,|\bor|\band)\s*$", quote.text.rstrip(f" {ELLIPSIS}"))


def test_the_item_after_a_trailing_or_is_kept_when_the_list_fits():
    quote, _ = _quote(SHORT, "We may keep server logs")
    assert quote.text == (
        "We may keep server logs longer for: site testing; diagnosis of technical problems; "
        "defending against attacks to the site; handling a spike in traffic or other "
        "abnormal, short-term circumstances, or research projects ( in anonymized form ) "
        "that serve our overall mission.")  # ", or" joins the last item: no "; " added


def test_a_list_that_runs_on_past_the_chunk_ends_with_the_ellipsis():
    """A chunk that ends on an item's trailing "," or "or": the list goes on in the next
    chunk, so the quote ends with " …" rather than on the comma or the "or"."""
    policy = parse_policy(SIGN_UP, name="p.md")
    chunk = split_policy(policy)[1]
    text = ("We may also disclose your personal information:\nas required by law,\n"
            "to protect our rights, or")
    spans = sentence_spans(text)
    hit = Hit(dataclasses.replace(chunk, text=text), 0.5, 0.5, 0.0,
              tuple((s, e, 0.9 if i == 0 else 0.3) for i, (s, e) in enumerate(spans)))
    quote = quote_of(hit)
    assert quote.text == ("We may also disclose your personal information: as required by law, "
                          f"to protect our rights {ELLIPSIS}")
    assert quote.anchor_text == "We may also disclose your personal information:"


@pytest.mark.parametrize(("markdown", "opening"), [
    (SIGN_UP, "We collect the following"), (LOGGING, "Circumstances in which"),
    (SHORT, "We may keep server logs"), (ADDRESS, "If you are in the EEA")])
def test_the_link_words_are_one_line_of_the_page_and_the_pieces_its_words(markdown, opening):
    quote, reader = _quote(markdown, opening)
    assert quote.text.startswith(quote.anchor_text)
    assert _one_line_holds(quote.anchor_text, reader), quote.anchor_text
    fragment = unquote(text_fragment(quote.anchor_text, reader.lower()).split("=", 1)[1])
    assert _one_line_holds(fragment, reader), fragment
    flat = " ".join(reader.split("\n"))
    assert all(piece in flat for piece in _pieces(quote.text)), quote.text
    assert "\n" not in quote.text and len(quote.text) <= MAX_QUOTE_CHARS


@pytest.mark.parametrize("ext", ["md", "html", "docx", "pdf"])
def test_opengov_logging_list_in_every_format(ext):
    """The tester's reproduction, at the quote: the items apart, " …" for the last one."""
    policy = load_policy(OPENGOV.with_suffix(f".{ext}"))
    quote, reader = _quote_in(policy, "Circumstances in which")
    assert "site testing; diagnosis of technical problems; defending against attacks" in (
        quote.text)
    assert quote.text.endswith(f"short-term circumstances {ELLIPSIS}"), quote.text
    assert _one_line_holds(quote.anchor_text, reader)
    assert quote.anchor_text.endswith("such as:")


def test_prose_and_a_one_line_address_are_quoted_as_before():
    quote, _ = _quote(PROSE, "We keep server logs")
    assert quote == Quote("We keep server logs for seven days.",
                          "We keep server logs for seven days.")
    # a colon then a sentence of prose: no list, the sentence alone
    quote, _ = _quote(PROSE, "We retain the following")
    assert quote == Quote("We retain the following:", "We retain the following:")
    # an address is one line of reader text: it follows the colon after a space
    quote, _ = _quote(ADDRESS, "If you are in the EEA")
    assert quote.text.endswith("or by mail at: Acme DPO Services SRL Avenue Louise 235 1050 "
                               "Brussels Belgium")


def test_an_answer_quotes_the_list_with_its_items_apart(embedder, tmp_path):
    """End to end, as `policy-qa ask` showed it: the quote keeps the items apart and its
    link scrolls to the list's opening words."""
    service = Service(Settings(outbox=tmp_path / "o.sqlite3", maildir=tmp_path / "m",
                               analytics=tmp_path / "a.sqlite3", cache_size=0),
                      index=build_index(parse_policy(SIGN_UP, name="list.md"), embedder),
                      embedder=embedder)
    passage = service.ask("What data do you collect when I sign up?").passages[0]
    assert passage.quote == ("We collect the following data when you sign up: your full name; "
                             "your email address; your date of birth; your billing address")
    assert passage.url.endswith("#what-we-collect:~:text=We%20collect%20the%20following")
