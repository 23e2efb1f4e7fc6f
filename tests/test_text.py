"""Text helpers: heading slugs (github-slugger), Markdown to reader text, sentences."""

from __future__ import annotations

import pytest

from index.anchors import slugify, unique_slug
from index.sentences import sentence_spans
from index.text import heading_lines, inline_spans, lead_in, render_block, render_inline


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


# --- slugs -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("How can you access, correct or delete your information?",
         "how-can-you-access-correct-or-delete-your-information"),
        ("Privacy Policy", "privacy-policy"),
        ("What information do we collect about you?", "what-information-do-we-collect-about-you"),
        ("Blog / Support Forum", "blog--support-forum"),  # github-slugger keeps both dashes
        ("Single Sign-On", "single-sign-on"),
        ("snake_case & co.", "snake_case--co"),
        ("Korero’s “rights”", "koreros-rights"),
        ("Données personnelles", "données-personnelles"),
        ("GDPR (EU) rights", "gdpr-eu-rights"),
    ],
)
def test_slugify_follows_github_slugger(heading, slug):
    assert slugify(heading) == slug


def test_repeated_headings_get_numbered_suffixes():
    seen: dict[str, int] = {}
    got = [unique_slug(h, seen) for h in ("FAQ", "Other", "FAQ", "faq", "FAQ?")]
    assert got == ["faq", "other", "faq-1", "faq-2", "faq-3"]


def test_heading_lines_render_heading_markup_and_skip_code():
    md = ("# **Privacy** Policy ##\n\ntext\n\n## [Cookies](/cookies) and C#\n\n```\n# not a"
          " heading\n```\n\n#### Minor\n\n#hashtag is no heading\n")
    assert heading_lines(md) == [(0, 1, "Privacy Policy"), (4, 2, "Cookies and C#"),
                                 (10, 4, "Minor")]


def test_heading_lines_know_setext_headings():
    md = "Privacy\n=======\n\nText.\n\nSharing data\n------------\n\nMore.\n\n---\n\n- item\n---\n"
    assert heading_lines(md) == [(0, 1, "Privacy"), (5, 2, "Sharing data")]
    assert render_block(md) == "Text.\nMore.\nitem"
    assert render_block(md, keep_headings=True).split("\n")[:2] == ["Privacy", "Text."]


def test_tables_render_a_row_per_line_without_the_header_and_delimiter_rows():
    md = ("| Data | Kept |\n|:-----|-----:|\n| Email, name | 2 **years** |\n| IP | 14 days |\n"
          "| a \\| b |  |\n")
    assert render_block(md).split("\n") == ["Email, name | 2 years", "IP | 14 days", "a | b"]


def test_a_bold_first_cell_is_the_rows_not_a_lead_in():
    """A row opening with a bold cell was read as a bold lead-in: "Drafts" on a line of
    its own and "| Until you delete them" quoted with a stray bar."""
    md = ("| Data | Kept |\n|---|---|\n| **Drafts** | Until you delete them |\n"
          "| __Logs__: server | 14 days |\n\n**Cookies.** We set two.\n")
    assert render_block(md).split("\n") == [
        "Drafts | Until you delete them", "Logs: server | 14 days", "Cookies.", "We set two."]


def test_link_reference_definitions_are_not_text():
    md = "See [our partners][p] today.\n\n[p]: https://example.com/partners \"Partners\"\n"
    assert render_block(md) == "See our partners today."


# --- rendering ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("markdown", "reader"),
    [
        ("visit [koreroapp.com](https://koreroapp.com/) today", "visit koreroapp.com today"),
        ('see [our terms](/terms "Terms") now', "see our terms now"),
        ("see [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) ok", "see Foo ok"),
        ("an ![logo](/logo.png) image", "an logo image"),
        ("write to <privacy@example.com> or <https://example.com/x>",
         "write to privacy@example.com or https://example.com/x"),
        ("**bold**, *em*, _under_ and __strong__ words", "bold, em, under and strong words"),
        ("snake_case_name and 5 * 3 * 2 stay", "snake_case_name and 5 * 3 * 2 stay"),
        ("im<b>port</b>ant and<br>apart", "important and apart"),
        ("a <span class='x'>span</span> <!-- hidden --> here", "a span here"),
        ("`code` &amp; \\*escaped\\*", "code & *escaped*"),
        ("no\u00a0break\tand tab", "no break and tab"),
    ],
)
def test_render_inline_keeps_the_words_a_reader_sees(markdown, reader):
    assert render_inline(markdown) == reader


def test_render_block_joins_a_link_broken_across_lines():
    md = ("This document is licensed under a [Creative\nCommons Attribution 4.0 International\n"
          'License](http://creativecommons.org/licenses/by/4.0/">Creative).')
    assert render_block(md) == ("This document is licensed under a Creative Commons "
                                "Attribution 4.0 International License.")


def test_render_block_lines_per_paragraph_list_item_and_lead_in():
    md = ("# Title\n\nFirst paragraph\nwrapped here.\n\n* item one\n  continued\n"
          "* item two\n\n**Log file information**\n\nText after.\n\n"
          "**Testimonials** We display testimonials.\n\n---\n\n> quoted line\n\n"
          "#### Minor heading\n\n<div class='divider'></div>\n")
    assert render_block(md).split("\n") == [
        "First paragraph wrapped here.", "item one continued", "item two",
        "Log file information", "Text after.", "Testimonials", "We display testimonials.",
        "quoted line", "Minor heading",
    ]
    assert render_block(md, keep_headings=True).split("\n")[0] == "Title"


def test_render_block_never_changes_or_drops_a_word():
    md = ("Korero, Inc. (henceforward \"Korero\") uses **cookies** and _web beacons_;\n"
          "see [the list](https://x.example/a-b?c=d&e=f) — 100% secure, e.g. SSL.")
    words = ("Korero, Inc. (henceforward \"Korero\") uses cookies and web beacons; see the "
             "list — 100% secure, e.g. SSL.").split()
    assert render_block(md).split() == words


def test_bold_words_that_the_sentence_continues_from_are_no_lead_in():
    assert lead_in("**Testimonials** We display") == ("Testimonials", "We display")
    assert lead_in("**Note:** we may") == ("Note:", "we may")
    assert lead_in("**Korero never** sells your data.") is None
    assert render_block("**Korero never** sells your data.") == "Korero never sells your data."


def test_inline_spans_cover_links_and_emphasis_per_paragraph():
    md = "a [b c](http://x) d **e f** g\n\n**unclosed\n\nh *i j* k"
    spans = [md[s:e] for s, e in inline_spans(md)]
    assert spans == ["[b c](http://x)", "**e f**", "*i j*"]


# --- sentences ---------------------------------------------------------------------

def test_sentence_spans_split_sentences():
    text = ("We will respond to your request. You may ask again! Is it secure? Yes. "
            "Persistent cookies last. Read our terms.")
    assert sentences(text) == ["We will respond to your request.", "You may ask again!",
                               "Is it secure?", "Yes.", "Persistent cookies last.",
                               "Read our terms."]


def test_sentence_spans_do_not_split_at_abbreviations():
    text = ("Trusted parties (e.g. Google Analytics) help us. Korero, Inc. Is the owner. "
            "That is, i.e. Acme. A U.S. Company. Dr. Who agrees.")
    assert sentences(text) == ["Trusted parties (e.g. Google Analytics) help us.",
                               "Korero, Inc. Is the owner.", "That is, i.e. Acme.",
                               "A U.S. Company.", "Dr. Who agrees."]
    # dotted initials of any kind: OpenGov's donation sentence was cut at "(P.O." (audit)
    donation = ("We are pleased to receive anonymous donations in the mail (P.O. 3672, "
                "Washington, DC 20027), but please note that it is required. Thanks.")
    assert sentences(donation) == [donation[:-8], "Thanks."]


def test_sentence_spans_end_at_line_breaks_and_keep_quotes():
    text = 'He said "Stop." Then left.\nLead-in title\nNext line'
    assert sentences(text) == ['He said "Stop."', "Then left.", "Lead-in title", "Next line"]
    for start, end in sentence_spans(text):
        assert text[start:end] == text[start:end].strip()
