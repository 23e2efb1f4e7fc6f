"""Anchors that land: the source's own ids (attribute lists, HTML ids, `<a id>` /
`<a name>`), else github-slugger slugs numbered -1, -2 …; every heading level its own
anchor; a PDF chunk its page."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.policy import load_policy, parse_policy
from index.split import split_policy

MOZILLA = Path(__file__).parent / "data" / "policies" / "mozilla"


def anchors(chunks) -> list[str]:
    return list(dict.fromkeys(c.anchor for c in chunks))


def test_attribute_lists_give_paragraphs_and_list_items_the_pages_own_ids():
    policy = load_policy(MOZILLA / "websites_privacy_notice.md")
    chunks = split_policy(policy)
    assert anchors(chunks) == ["websites-communications--cookies-privacy-notice",
                               "personal-info", "campaigns", "data-tools", "user-choices",
                               "cookies", "donations"]
    # the heading they sit under is still their section
    assert {c.section_anchor for c in chunks[1:]} == {"things-you-should-know"}
    assert {c.section for c in chunks[1:]} == {"Things you should know"}
    text = "\n".join(c.text for c in chunks)
    assert "{:" not in text and "datetime=" not in text
    assert chunks[0].text.startswith("November 5, 2025\nWe care about your privacy.")
    cookies = next(c for c in chunks if c.anchor == "cookies")
    assert cookies.text.startswith("Cookie History\nYou can accept or decline")
    campaigns = next(c for c in chunks if c.anchor == "campaigns")
    assert campaigns.text.startswith("Product & Policy Campaigns\n")


def test_heading_attribute_lists_and_anchors_in_markdown():
    policy = load_policy(MOZILLA / "subscription_services_privacy_notice.md")
    chunks = split_policy(policy)
    assert {c.section: c.anchor for c in chunks if c.subsection is None or c.section in (
        "Mozilla VPN", "Mozilla Monitor", "Firefox Relay")}.items() >= {
        ("Mozilla VPN", "vpn"), ("Mozilla Monitor", "monitor"), ("Firefox Relay", "relay")}
    assert not any("{:" in c.section or "{:" in c.text for c in chunks)


def test_the_html_pages_own_ids_match_the_markdown_slugs():
    import lxml.html

    md = split_policy(load_policy(MOZILLA / "mozilla_accounts_privacy_notice.md"))
    html = split_policy(load_policy(MOZILLA / "mozilla_accounts_privacy_notice.html"))
    page = lxml.html.document_fromstring(
        (MOZILLA / "mozilla_accounts_privacy_notice.html").read_text("utf-8"))
    own = {" ".join(h.text_content().split()): h.get("id")
           for h in page.iter("h1", "h2", "h3", "h4", "h5", "h6") if h.get("id")}
    md_slugs = {c.section: c.section_anchor for c in md}
    html_ids = {c.section: c.section_anchor for c in html}
    assert len(md_slugs) >= 15
    for title, slug in md_slugs.items():
        assert html_ids[title] == slug == own[title], title


def test_every_heading_level_has_its_own_anchor():
    policy = parse_policy("# P\n\nIntro.\n\n## A\n\nText a.\n\n### B\n\nText b.\n\n#### C\n\n"
                          "Text c.\n\n##### D\n\nText d.\n\n###### E\n\nText e.\n\n"
                          "**Lead** Lead text.\n")
    chunks = split_policy(policy)
    assert [(c.anchor, c.section, c.subsection) for c in chunks] == [
        ("p", "P", None), ("a", "A", None), ("b", "B", None), ("c", "B", "C"),
        ("d", "B", "D"), ("e", "B", "E"), ("e", "B", "Lead")]
    assert {c.section_anchor for c in chunks[2:]} == {"b"}


def test_repeated_headings_are_numbered_across_levels_like_github_slugger():
    policy = parse_policy("# FAQ\n\nOne.\n\n## FAQ\n\nTwo.\n\n#### FAQ\n\nThree.\n\n"
                          "## FAQ?\n\nFour.\n")
    assert [c.anchor for c in split_policy(policy)] == ["faq", "faq-1", "faq-2", "faq-3"]


@pytest.mark.parametrize(("markdown", "anchor"), [
    ("## Sharing {#share}\n\nText.", "share"),
    ("## Sharing {: #share .big }\n\nText.", "share"),
    ("## Sharing\n{: #share }\n\nText.", "share"),
    ('## <a id="share"></a>Sharing\n\nText.', "share"),
    ('## <a name="share"></a>Sharing\n\nText.', "share"),
    ("## Sharing {.big}\n\nText.", "sharing"),
])
def test_a_headings_own_id_wins_over_its_slug(markdown, anchor):
    chunks = split_policy(parse_policy("# P\n\n" + markdown + "\n\n## Other\n\nMore.\n"))
    assert chunks[0].anchor == anchor
    assert chunks[0].section == "Sharing" and chunks[0].text == "Text."


def test_an_explicit_id_reserves_its_slug():
    policy = parse_policy("# P\n\n## First {#faq}\n\nOne.\n\n## FAQ\n\nTwo.\n")
    assert [c.anchor for c in split_policy(policy)] == ["faq", "faq-1"]


def test_a_paragraph_id_holds_until_the_next_one():
    policy = parse_policy("# P\n\n## Data\n\nGeneral text.\n\nFirst part.\n{: #part-one }\n\n"
                          "More of part one.\n\n**Lead** In part one still.\n\n"
                          '<a id="part-two"></a>Second part.\n\n## Next\n\nNext text.\n')
    chunks = split_policy(policy)
    assert [(c.anchor, c.subsection, c.text) for c in chunks] == [
        ("data", None, "General text."),
        ("part-one", None, "First part.\nMore of part one."),
        ("part-one", "Lead", "Lead\nIn part one still."),
        ("part-two", "Lead", "Second part."),
        ("next", None, "Next text."),
    ]


def test_a_standalone_attribute_list_gives_its_id_to_the_next_block():
    policy = parse_policy("# P\n\n## Data\n\nIntro.\n\n{: #retention }\n\nWe keep it.\n")
    chunks = split_policy(policy)
    assert [(c.anchor, c.text) for c in chunks] == [("data", "Intro."),
                                                    ("retention", "We keep it.")]


def test_pdf_chunks_record_their_page():
    import pdfplumber

    path = MOZILLA / "subscription_services_privacy_notice.pdf"
    chunks = split_policy(load_policy(path))
    pages = [c.page for c in chunks]
    assert pages == sorted(pages) and pages[0] == 1 and set(pages) == {1, 2, 3, 4}
    relay = next(c for c in chunks if c.subsection == "Firefox Relay email messages.")
    assert relay.anchor == "firefox-relay"  # a PDF has no ids: the slug rule
    with pdfplumber.open(path) as pdf:
        for chunk in chunks:
            page = " ".join(pdf.pages[chunk.page - 1].extract_text(x_tolerance=1.5).split())
            assert " ".join(chunk.text.split()[:5]) in page
    assert all(c.page is None for c in split_policy(
        load_policy(MOZILLA / "subscription_services_privacy_notice.md")))


# --- HTML: a saved page's own ids, and only its main content -----------------------------

SAVED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Privacy | Shop</title>
<link rel="canonical" href="https://shop.example/privacy">
<meta property="og:url" content="https://shop.example/og">
<style>.x { color: red }</style><script>var tracking = "NOSCRIPT";</script></head>
<body>
<div id="cookie-consent" class="banner">We use cookies BANNERWORD. <button>Accept</button></div>
<header><a href="/">Shop home HEADERWORD</a><nav><a href="/a">About NAVWORD</a></nav></header>
<main>
<h1>Shop Privacy Policy</h1>
<p>Last updated: May 1, 2025</p>
<p>We keep what you order &amp; where to send it. See <a href="https://partner.example/x">our
partner</a>.</p>
<section id="sharing"><h2>Who sees it</h2>
<p id="no-sale">We never sell your data.</p>
<p><strong>Couriers:</strong> get your address.</p></section>
<a name="legacy-rights"></a><h2>Your rights</h2>
<ul><li>See your data</li><li id="erase">Delete <em>it</em></li></ul>
<h3><a id="contact-anchor"></a>Contact</h3>
<p>Write to <a href="mailto:privacy@shop.example">our privacy team</a> or
help@shop.example. A literal *star*, [brackets] and 1. a number.</p>
<table><tr><th>Data</th><th>Kept</th></tr><tr><td>Orders</td><td>7 years</td></tr></table>
<aside>Related ASIDEWORD</aside>
</main>
<footer>Copyright FOOTERWORD</footer>
<script>document.write("SCRIPTWORD")</script>
</body></html>"""


def test_html_keeps_the_main_content_and_drops_the_chrome():
    policy = parse_policy(SAVED_PAGE, name="saved.html")
    chunks = split_policy(policy)
    text = "\n".join(c.text for c in chunks)
    for junk in ("BANNERWORD", "HEADERWORD", "NAVWORD", "ASIDEWORD", "FOOTERWORD",
                 "SCRIPTWORD", "NOSCRIPT", "color", "Accept"):
        assert junk not in text
    assert policy.title == "Shop Privacy Policy"
    assert policy.last_revised == "May 1, 2025"
    assert policy.url == "https://shop.example/privacy"  # canonical, not the partner link
    assert policy.inbox == "privacy@shop.example"
    assert "We keep what you order & where to send it. See our partner." in text
    assert "A literal *star*, [brackets] and 1. a number." in text
    assert "Orders | 7 years" in text and "Kept" not in text  # the header row is no text
    assert [(c.section, c.subsection, c.anchor) for c in chunks] == [
        ("Shop Privacy Policy", None, "shop-privacy-policy"),
        ("Who sees it", None, "no-sale"),
        ("Who sees it", "Couriers:", "no-sale"),
        ("Your rights", None, "legacy-rights"),
        ("Your rights", None, "erase"),
        ("Contact", None, "contact-anchor"),
    ]
    assert {c.section_anchor for c in chunks if c.section == "Who sees it"} == {"sharing"}


def test_chunks_save_page_and_section_anchor_only_when_they_say_something():
    from index.split import Chunk

    pdf = split_policy(load_policy(MOZILLA / "subscription_services_privacy_notice.pdf"))
    assert pdf[0].to_dict()["page"] == 1 and Chunk(**pdf[0].to_dict()) == pdf[0]
    md = split_policy(load_policy(MOZILLA / "websites_privacy_notice.md"))
    assert set(md[0].to_dict()) == {"id", "section", "subsection", "anchor", "text", "start",
                                    "end"}
    assert md[1].to_dict()["section_anchor"] == "things-you-should-know"
    assert Chunk(**md[1].to_dict()) == md[1]
