"""The splitter: section anchors, bold lead-in sub-sections, no heading-only chunks,
every word of the body in some chunk, offsets that point at the chunk's own text."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.policy import Policy, load_policy, parse_policy
from index.split import SplitSettings, split_policy
from index.text import render_block

POLICIES = Path(__file__).parent / "data" / "policies"

KORERO_ANCHORS = [
    "privacy-policy",
    "our-guiding-principles",
    "what-information-do-we-collect-about-you",
    "what-do-we-use-your-information-for",
    "when-would-we-share-your-information",
    "how-can-you-access-correct-or-delete-your-information",
    "what-tracking-technologies-do-we-utilize",
    "how-do-we-protect-your-information",
    "what-else-should-you-know-about",
    "changes-to-our-privacy-policy",
    "questions-or-comments",
    "contact-us",
]


def words(text: str) -> Counter:
    return Counter(text.split())


def assert_chunks_are_sound(policy: Policy, chunks, *, skip_title: bool = False) -> None:
    """Every word of the body (headings aside) is in exactly one chunk; offsets are
    ordered, disjoint, and render to the chunk's text; no chunk is only a title."""
    assert chunks, "no chunks"
    assert [c.id for c in chunks] == [f"c{i:04d}" for i in range(len(chunks))]
    body = words(render_block(policy.body))
    if skip_title:
        body -= words(policy.title)
    assert words("\n".join(c.text for c in chunks)) == body
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.end <= after.start
    for chunk in chunks:
        assert policy.body_start <= chunk.start < chunk.end <= len(policy.source)
        assert render_block(policy.source[chunk.start : chunk.end]) == chunk.text
        assert chunk.text.strip() == chunk.text and chunk.text
        assert chunk.text not in (chunk.section, chunk.subsection)
        titles = {chunk.section, chunk.subsection}
        assert any(line not in titles for line in chunk.text.split("\n"))


@pytest.fixture(scope="module")
def korero() -> Policy:
    from qa.settings import BUNDLED_POLICY

    return load_policy(BUNDLED_POLICY)


def test_korero_anchors_exactly(korero):
    chunks = split_policy(korero)
    anchors = list(dict.fromkeys(c.anchor for c in chunks))
    assert anchors == KORERO_ANCHORS
    sections = {c.anchor: c.section for c in chunks}
    assert sections["how-can-you-access-correct-or-delete-your-information"] == (
        "How can you access, correct or delete your information?")
    assert sections["privacy-policy"] == "Privacy Policy"


def test_korero_bold_lead_ins_are_sub_sections_under_the_parent_anchor(korero):
    chunks = split_policy(korero)
    subs = {(c.anchor, c.subsection) for c in chunks if c.subsection}
    assert subs == {
        ("what-information-do-we-collect-about-you", "User-provided information"),
        ("what-information-do-we-collect-about-you", "Log file information"),
        ("what-else-should-you-know-about", "Links to 3rd Party Sites"),
        ("what-else-should-you-know-about", "Blog / Support Forum"),
        ("what-else-should-you-know-about", "Testimonials"),
        ("what-else-should-you-know-about", "Single Sign-On"),
        ("what-else-should-you-know-about", "Social Media Widgets"),
        ("what-else-should-you-know-about", "Personal Information of European Union Residents"),
    }
    log = next(c for c in chunks if c.subsection == "Log file information")
    assert log.text.startswith("Log file information\nInformation is automatically reported")
    assert "User-provided" not in log.text  # the previous sub-section ends where this starts
    testimonials = next(c for c in chunks if c.subsection == "Testimonials")  # inline lead-in
    assert testimonials.text.startswith("Testimonials\nWe display personal testimonials")
    assert testimonials.text.endswith("privacy@koreroapp.com.")
    assert "Single Sign-On" not in testimonials.text


def test_korero_every_word_lands_in_a_chunk_including_the_licence(korero):
    chunks = split_policy(korero)
    assert_chunks_are_sound(korero, chunks)
    last = chunks[-1]
    assert last.anchor == "contact-us"
    assert "Creative Commons Attribution 4.0 International License" in last.text
    assert last.text.endswith("is licensed under a Creative Commons Attribution 4.0 "
                              "International License.")
    assert "](" not in "".join(c.text for c in chunks)
    assert "**" not in "".join(c.text for c in chunks)


@pytest.mark.parametrize("size", [120, 300, 600])
def test_long_sections_are_split_below_chunk_size(korero, size):
    chunks = split_policy(korero, SplitSettings(chunk_size=size))
    assert_chunks_are_sound(korero, chunks)
    assert max(len(c.text) for c in chunks) <= size
    assert len(chunks) > len(split_policy(korero))
    # pieces of a long sub-section keep its title and the parent anchor
    log = [c for c in chunks if c.subsection == "Log file information"]
    assert len(log) >= 2
    assert {c.anchor for c in log} == {"what-information-do-we-collect-about-you"}
    assert log[0].text.startswith("Log file information\n")


def test_cuts_never_split_a_link_or_emphasis():
    link = "[our partners' page](https://example.com/a/very/long/path/to/partners)"
    sentence = f"We share data with the firms on {link} and *only* those firms. "
    policy = parse_policy("# P\n\n## Sharing\n\n" + sentence * 12 + "\n")
    chunks = split_policy(policy, SplitSettings(chunk_size=90))
    assert len(chunks) > 5
    assert_chunks_are_sound(policy, chunks)
    assert not any(mark in c.text for c in chunks for mark in ("[", "](", "*"))


def test_fixture_policy_anchors_duplicates_minor_headings_and_odd_spaces():
    policy = load_policy(POLICIES / "acme.md")  # has a tab and a no-break space
    chunks = split_policy(policy)
    assert_chunks_are_sound(policy, chunks)
    assert [(c.anchor, c.subsection) for c in chunks] == [
        ("acme-privacy-notice", None),
        ("what-we-collect", "Account data"),
        ("what-we-collect", "Usage data"),
        ("server-logs", "Server logs"),  # a #### links to its own heading
        ("faq", None),
        ("who-sees-your-data", None),
        ("faq-1", None),
    ]
    assert chunks[2].text == "Usage data\nWe record the pages you view and the buttons you press."
    assert chunks[3].text.startswith("Server logs\nOur web servers")
    assert (chunks[3].section, chunks[3].section_anchor) == ("What we collect", "what-we-collect")
    assert chunks[5].text == ("We share nothing with advertisers. Payment data goes to our "
                              "card processor only.")


def test_heading_markup_and_closing_hashes_are_not_in_anchors():
    policy = parse_policy("# Privacy\n\n## [Cookies](/cookies) *policy* ##\n\nWe use cookies.\n"
                          "\n## C# and F#\n\nNo code here.\n")
    chunks = split_policy(policy)
    assert [(c.section, c.anchor) for c in chunks] == [
        ("Cookies policy", "cookies-policy"), ("C# and F#", "c-and-f")]


def test_consecutive_duplicate_headings_stay_apart():
    policy = parse_policy("# P\n\n## FAQ\n\nFirst answer.\n\n## FAQ\n\nSecond answer.\n")
    chunks = split_policy(policy)
    assert [(c.anchor, c.text) for c in chunks] == [
        ("faq", "First answer."), ("faq-1", "Second answer.")]


def test_text_before_the_first_heading_goes_under_the_title():
    policy = parse_policy("Read this first.\n\n# Privacy\n\nIntro text.\n\n## Privacy\n\nMore.\n")
    chunks = split_policy(policy)
    # github-slugger numbers headings only: H1 "privacy", H2 "privacy-1"
    assert [(c.anchor, c.text) for c in chunks] == [
        ("privacy", "Read this first."), ("privacy", "Intro text."), ("privacy-1", "More.")]


def test_headings_inside_code_fences_are_not_sections():
    policy = parse_policy("# P\n\n## Real\n\nText.\n\n```\n## not a heading\n```\n\nAfter.\n")
    chunks = split_policy(policy)
    assert {c.anchor for c in chunks} == {"real"}


def test_bare_bold_titles_without_text_make_no_empty_sub_section():
    policy = parse_policy("# P\n\n## A\n\n**First**\n\n**Second** Text of second.\n\n"
                          "**Dangling**\n\n## B\n\nText of B.\n")
    chunks = split_policy(policy)
    assert_chunks_are_sound(policy, chunks)
    assert [(c.anchor, c.subsection, c.text) for c in chunks] == [
        ("a", "Second", "First\nSecond\nText of second.\nDangling"),
        ("b", None, "Text of B."),
    ]
    # a bold line on its own that is all a section says is text, not a title
    policy = parse_policy("# P\n\n## Contact\n\n**Acme, Inc.**\n")
    assert [(c.subsection, c.text) for c in split_policy(policy)] == [(None, "Acme, Inc.")]


def test_setext_headings_tables_and_link_definitions():
    policy = parse_policy(
        "ACME PRIVACY POLICY\n===================\n\nIntro text.\n\nWhat we collect\n"
        "---------------\n\n| Data | Kept |\n|------|-----:|\n| Email | 2 years |\n"
        "| IP address | 14 days |\n\n[1]: https://example.com/ref\nSee [the ref][1].\n")
    assert policy.title == "ACME PRIVACY POLICY" and policy.is_markdown
    chunks = split_policy(policy)
    assert_chunks_are_sound(policy, chunks)
    assert [(c.anchor, c.text) for c in chunks] == [
        ("acme-privacy-policy", "Intro text."),
        ("what-we-collect",
         "Email | 2 years\nIP address | 14 days\nSee the ref."),
    ]


def test_minor_headings_without_text_are_no_chunk():
    policy = parse_policy("# P\n\n## A\n\n#### Empty\n\n## B\n\nText.\n\n#### Trailing\n")
    assert [(c.anchor, c.text) for c in split_policy(policy)] == [("b", "Text.\nTrailing")]


def test_crlf_policy_splits_like_lf():
    text = ("# P\n\n## A\n\n**Lead one** Text one.\n\n**Lead two**\n\nText two.\n\n"
            "## B\n\nText B.\n")
    lf, crlf = parse_policy(text), parse_policy(text.replace("\n", "\r\n"))
    strip = [(c.anchor, c.subsection, c.text) for c in split_policy(lf)]
    assert [(c.anchor, c.subsection, c.text) for c in split_policy(crlf)] == strip
    assert [s for _, s, _ in strip] == ["Lead one", "Lead two", None]
    assert_chunks_are_sound(crlf, split_policy(crlf))


def test_plain_text_policy_becomes_paragraphs_under_the_title():
    policy = load_policy(POLICIES / "tiny-shop.txt")
    chunks = split_policy(policy)
    assert_chunks_are_sound(policy, chunks, skip_title=True)
    assert [c.text for c in chunks] == [
        "We collect your name and postal address to deliver your orders.",
        "We never sell your data. We keep order records for seven years because tax law "
        "requires it.",
        "Write to privacy@tinyshop.example with any question.",
    ]
    assert {(c.section, c.anchor, c.subsection) for c in chunks} == {
        ("Tiny Shop Privacy Policy", "tiny-shop-privacy-policy", None)}


def test_long_plain_text_paragraphs_are_split():
    paragraph = " ".join(f"Sentence number {i} says something about data." for i in range(40))
    policy = parse_policy(f"Shop policy\n\n{paragraph}\n\nShort one.\n")
    chunks = split_policy(policy, SplitSettings(chunk_size=200))
    assert_chunks_are_sound(policy, chunks, skip_title=True)
    assert max(len(c.text) for c in chunks) <= 200
    assert chunks[-1].text == "Short one."


def test_markdown_without_headings_is_split_by_paragraph():
    policy = parse_policy("We use **cookies**.\n\nWe keep *logs*.\n\n- one item\n- two items\n")
    chunks = split_policy(policy)
    assert [c.text for c in chunks] == ["We use cookies.", "We keep logs.",
                                        "one item\ntwo items"]


# --- property: generated Markdown documents ----------------------------------------

VOCAB = ["data", "privacy", "Korero", "cookies", "account", "email", "share", "delete",
         "we", "you", "may", "never", "partners", "logs", "IP", "address", "rights",
         "access", "consent", "secure", "3rd", "e-mail", "sign-on", "user's", "50%"]
word = st.sampled_from(VOCAB)
# titles use their own words, so a chunk that is only a title is one in structure, not by
# coincidence of words
title_word = st.sampled_from(["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"])


@st.composite
def inline_text(draw, min_words=3, max_words=40) -> str:
    out = [draw(word)]  # bold at the start would be a lead-in; those come from block()
    for _ in range(draw(st.integers(min_words, max_words))):
        kind = draw(st.sampled_from(["plain"] * 8 + ["bold", "em", "link", "end"]))
        if kind == "bold":
            out.append(f"**{draw(word)} {draw(word)}**")
        elif kind == "em":
            out.append(f"*{draw(word)}*")
        elif kind == "link":
            text = " ".join(draw(st.lists(word, min_size=1, max_size=4)))
            out.append(f"[{text}](https://example.com/{draw(word).lower()}/page)")
        elif kind == "end":
            out.append(draw(word) + ".")
            out.append(draw(word).capitalize())
        else:
            out.append(draw(word))
    # wrap lines at random word boundaries, like hand-written Markdown
    lines, line = [], []
    for token in out:
        line.append(token)
        if draw(st.integers(0, 9)) == 0:
            lines.append(" ".join(line))
            line = []
    return "\n".join([*lines, " ".join(line)]).strip()


@st.composite
def block(draw) -> str:
    kind = draw(st.sampled_from(["heading", "paragraph", "paragraph", "list", "lead-in",
                                 "lead-line", "minor", "setext", "table", "rule"]))
    title = " ".join(draw(st.lists(title_word, min_size=1, max_size=4)))
    if kind == "heading":
        return "#" * draw(st.integers(2, 3)) + " " + title
    if kind == "setext":
        return title + "\n" + draw(st.sampled_from("=-")) * draw(st.integers(3, 20))
    if kind == "rule":
        return draw(st.sampled_from(["---", "***", "* * *"]))
    if kind == "table":
        rows = draw(st.lists(st.lists(word, min_size=2, max_size=2), min_size=1, max_size=4))
        return "\n".join(["| Alpha | Bravo |", "|---|:--:|",
                          *(f"| {a} | {b} |" for a, b in rows)])
    if kind == "minor":
        return f"#### {title}\n\n" + draw(inline_text())
    if kind == "list":
        marker = draw(st.sampled_from(["*", "-", "1."]))
        items = draw(st.lists(inline_text(max_words=15), min_size=1, max_size=4))
        return "\n".join(f"{marker} {item.replace(chr(10), chr(10) + '  ')}" for item in items)
    if kind == "lead-in":
        return f"**{title}** " + draw(inline_text()).capitalize()
    if kind == "lead-line":
        return f"**{title}**\n\n" + draw(inline_text())
    return draw(inline_text())


@st.composite
def markdown_policy(draw) -> str:
    blocks = draw(st.lists(block(), min_size=1, max_size=12))
    return "# Generated policy\n\n" + "\n\n".join(blocks) + "\n\nFinal licence line here.\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown_policy(), st.sampled_from([80, 160, 400, 1000]), st.booleans())
def test_property_every_word_lands_in_a_chunk(markdown, size, crlf):
    if crlf:
        markdown = markdown.replace("\n", "\r\n")
    policy = parse_policy(markdown, name="generated.md")
    chunks = split_policy(policy, SplitSettings(chunk_size=size))
    assert_chunks_are_sound(policy, chunks)
    assert chunks[-1].text.endswith("Final licence line here.")
    assert not any(re.search(r"\*\*|\]\(|^#", c.text, re.M) for c in chunks)


def test_a_flat_policy_is_split_by_paragraph_and_lists_keep_their_lead():
    paragraphs = [f"Paragraph {n} says one thing about data number {n}." for n in range(4)]
    source = ("# Flat policy\n\n" + "\n\n".join(paragraphs)
              + "\n\nWe may disclose it:\n\n* to the police,\n* to a buyer.\n")
    chunks = split_policy(parse_policy(source))
    assert [c.text for c in chunks[:4]] == paragraphs
    assert chunks[4].text == "We may disclose it:\nto the police,\nto a buyer."
    assert {c.anchor for c in chunks} == {"flat-policy"}
    sectioned = source.replace("# Flat policy\n\n", "# P\n\nIntro.\n\n## A\n\n")
    chunks = split_policy(parse_policy(sectioned))
    assert [c.anchor for c in chunks] == ["p", "a"]  # sections keep section-sized chunks
