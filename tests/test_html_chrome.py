"""HTML page chrome goes, policy text stays, whatever its id or class is called
(index/formats/html_chrome.py). A section "consent", a "cookie-notice", a
"data-sharing" block, a "social-media" or "newsletter" paragraph are policy text; a
cookie banner with Accept/Reject, a bar of share buttons, a newsletter sign-up form and
a table of contents made of links are chrome."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.formats.html_chrome import name_words
from index.policy import load_policy, parse_policy
from index.split import split_policy

POLICIES = Path(__file__).parent / "data" / "policies"


def page(main: str, outside: str = "") -> str:
    return (f"<!doctype html><html><head><title>T</title></head><body>{outside}<main>"
            "<h1>Acme Privacy Policy</h1><p>Email privacy@acme.example about privacy.</p>"
            f"{main}</main></body></html>")


def markdown(html: str) -> str:
    return parse_policy(html, name="page.html").source


def test_sections_on_consent_and_a_cookie_notice_keep_their_headings_and_text():
    text = markdown(page(
        '<section id="consent"><h2>Consent</h2><p>Where we rely on your consent, for '
        "example for marketing emails, you may withdraw it at any time.</p></section>"
        '<section id="cookie-notice"><h2>Cookie notice</h2><p>We set an analytics cookie '
        "named stats for 12 months only after you agree.</p></section>"
        '<div class="cookie-consent-info"><p>You can change your cookie choices at any time '
        "in the footer.</p></div>"))
    assert "## Consent {#consent}\n\nWhere we rely on your consent" in text
    assert "## Cookie notice {#cookie-notice}\n\nWe set an analytics cookie" in text
    assert "You can change your cookie choices at any time in the footer." in text


def test_blocks_named_sharing_social_newsletter_or_toc_keep_their_prose():
    text = markdown(page(
        '<h2 id="how-we-share">How we share your data</h2><div id="data-sharing"><p>We share '
        "your delivery address with our courier DHL.</p></div>"
        '<h2 id="social">Social media</h2><p class="social-media">Our pages embed Facebook '
        "Like buttons that let Facebook set cookies.</p>"
        '<h2 id="newsletter">Newsletter</h2><p class="newsletter">If you subscribe to our '
        "newsletter we store your email address with Mailchimp.</p>"
        '<div class="toc"><p>Your profile holds your display name and avatar.</p></div>'
        '<p class="sharing">We give <a href="/processors">our processors</a> only what they '
        "need.</p>"
        '<h2>Processors</h2><ul class="sharing-partners"><li><a href="https://stripe.com/'
        'privacy">Stripe</a></li><li><a href="https://www.dhl.com/privacy">DHL</a></li></ul>'
        '<ul class="social-networks"><li><a href="https://www.facebook.com/privacy/policy">'
        'Facebook</a></li><li><a href="https://x.com/en/privacy">X</a></li></ul>'))
    for words in ("We share your delivery address with our courier DHL.",
                  "Our pages embed Facebook Like buttons that let Facebook set cookies.",
                  "we store your email address with Mailchimp.",
                  "Your profile holds your display name and avatar.",
                  "only what they need.", "[Stripe](<https://stripe.com/privacy>)",
                  "[Facebook](<https://www.facebook.com/privacy/policy>)"):
        assert words in text, words
    assert "{: #data-sharing }" in text  # the block's id lands on its paragraph


def test_an_empty_anchor_in_a_heading_is_the_headings_anchor_whatever_its_name():
    html = page('<h2><a id="sharing-anchor"></a>Sharing</h2><p>We never share data with '
                'advertisers.</p><h2><a name="toc-retention"></a>Retention</h2><p>We keep '
                "account data until you delete the account.</p>")
    assert "## Sharing {#sharing-anchor}" in markdown(html)
    chunks = split_policy(parse_policy(html, name="page.html"))
    assert {c.section: c.anchor for c in chunks}["Sharing"] == "sharing-anchor"
    assert {c.section: c.anchor for c in chunks}["Retention"] == "toc-retention"


def test_a_page_whose_body_is_named_for_a_consent_tool_still_has_its_policy():
    """Consent tools mark the page while their banner is open (`<body class=cmp-open>`);
    an element holding the main content is never chrome."""
    html = page("<h2>Retention</h2><p>We keep account data for two years.</p>").replace(
        "<body>", '<body class="cmp-open didomi-popup-open">')
    assert "We keep account data for two years." in markdown(html)


BANNERS = {
    "dialog": '<div role="dialog" aria-label="Cookies" class="cc-window"><h2>We use cookies'
              "</h2><p>We and our partners use cookies to personalise ads.</p><button>"
              "Accept all</button><button>Reject all</button></div>",
    "named": '<div id="cookieBanner" class="consent-bar"><p>This site uses cookies for '
             'analytics.</p><a href="#" role="button">Accept</a><a href="#">Reject</a></div>',
    "headed": '<div id="onetrust-banner-sdk"><h2 id="onetrust-policy-title">Your privacy</h2>'
              "<p>By clicking Accept all cookies you agree to the storing of cookies on your "
              'device.</p><button id="onetrust-accept-btn-handler">Accept all cookies</button>'
              "</div>",
    "fixed": '<div class="cookie-notice" style="position: fixed; bottom: 0">We use cookies. '
             '<a href="/cookies">Learn more</a> <span role="button">OK</span></div>',
}


@pytest.mark.parametrize(("kind", "where"), [
    (kind, where) for kind in BANNERS for where in ("outside", "inside")
    if (kind, where) != ("headed", "inside")])  # that is a section: see the next test
def test_cookie_banners_are_dropped_in_or_out_of_main(kind, where):
    banner = BANNERS[kind]
    html = page(banner + "<h2>Retention</h2><p>We keep data for a year.</p>",
                "") if where == "inside" else page(
        "<h2>Retention</h2><p>We keep data for a year.</p>", banner)
    text = markdown(html)
    assert "We keep data for a year." in text
    for chrome in ("partners use cookies", "uses cookies for analytics", "Accept", "Reject",
                   "Your privacy", "By clicking", "We use cookies", "OK"):
        assert chrome not in text, (kind, where, text)


def test_a_headed_section_on_consent_in_the_main_content_keeps_its_text_and_loses_buttons():
    text = markdown(page('<section id="cookie-consent"><h2>Cookie consent</h2><p>We ask before '
                         "setting analytics cookies; you can change your mind here.</p>"
                         "<button>Accept all</button><button>Reject all</button></section>"))
    assert "## Cookie consent {#cookie-consent}\n\nWe ask before setting analytics" in text
    assert "Accept" not in text and "Reject" not in text


CHROME = {
    "share bar": '<div class="share-buttons">Share this page: <a href="https://twitter.com/'
                 'intent/tweet?url=x">Twitter</a> <a href="https://www.facebook.com/sharer/'
                 'sharer.php?u=x">Facebook</a> <a href="mailto:?subject=Privacy">Email</a></div>',
    "share icons": '<ul class="socialLinks"><li><a href="https://www.linkedin.com/company/acme"'
                   ' aria-label="LinkedIn"><svg></svg></a></li><li><a href="https://'
                   'instagram.com/acme" aria-label="Instagram"><svg></svg></a> Follow</li></ul>',
    "jetpack share": '<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share '
                     'this:</h3><ul><li><a class="share-twitter" href="https://acme.example/p/'
                     '?share=twitter"><span>Twitter</span></a></li><li><a class="share-facebook"'
                     ' href="https://acme.example/p/?share=facebook"><span>Facebook</span></a>'
                     "</li></ul></div>",
    "share buttons": '<div class="sharing"><button>Copy link</button><button>Print</button></div>',
    "newsletter form": '<div class="newsletter-signup"><h3>Newsletter</h3><p>Get our monthly '
                       'news.</p><form action="/subscribe"><label>Email address <input '
                       'type="email" name="email"></label><button>Subscribe</button></form></div>',
    "toc": '<div class="toc"><h2>Contents</h2><p>Jump to:</p><ul><li><a href="#collect">What '
           'we collect</a></li><li><a href="#share">Who we share it with</a></li><li><a href='
           '"#rights">Your rights</a></li></ul></div>',
    "toc list": '<ol id="table-of-contents" class="toc-list"><li><a href="#collect">Collection'
                '</a></li><li><a href="#rights">Rights</a></li></ol>',
    "breadcrumbs": '<div class="breadcrumbs"><a href="/">Home</a> › <a href="/legal">Legal'
                   "</a> › Privacy</div>",
    "skip link": '<a class="skip-link" href="#content">Skip to content</a>',
}


@pytest.mark.parametrize("kind", CHROME)
def test_page_chrome_named_as_such_is_dropped_from_the_main_content(kind):
    text = markdown(page(CHROME[kind] + '<h2 id="collect">What we collect</h2><p>We collect '
                         "your email address.</p>"))
    assert "We collect your email address." in text and "## What we collect" in text
    for chrome in ("Share this", "Twitter", "Facebook", "Email", "LinkedIn", "Follow",
                   "Copy link", "Print", "Newsletter", "monthly", "Subscribe", "Contents",
                   "Jump to", "Who we share", "Your rights", "Collection", "Home", "Legal",
                   "Skip to"):
        assert chrome not in text.replace("Email privacy@", ""), (kind, chrome, text)


def test_id_and_class_words_are_whole_words_split_at_case_and_punctuation():
    import lxml.html

    el = lxml.html.fragment_fromstring(
        '<div id="data-sharing" class="cookieBanner share_buttons2 TOC">x</div>')
    assert name_words(el) == ["data", "sharing", "cookie", "banner", "share", "buttons",
                              "toc"]


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*/*.html")), ids=lambda p: p.name)
def test_the_bundled_pages_lose_nothing_to_the_chrome_rules(path, monkeypatch):
    """The real pages (Mozilla accounts, OpenGov) convert as they would with no name
    rules at all."""
    with_rules = split_policy(load_policy(path))
    monkeypatch.setattr("index.formats.html.is_chrome", lambda *a: False)
    assert split_policy(load_policy(path)) == with_rules
