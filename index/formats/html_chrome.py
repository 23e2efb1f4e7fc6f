"""Page chrome, told by what an element holds and not by its name alone.

An element whose `id` or `class` names chrome, as whole words (`share-buttons`,
`cookieBanner`, `toc`; `data-sharing` names the policy's topic "sharing", so does
`social-media`), is dropped only when what it holds is chrome too:

* a consent banner: named for consent or cookies, with a button or link saying Accept,
  Reject, OK … (or outside the main content, or fixed on screen), and not a headed
  section of the main content, which a section on consent or a cookie notice is;
* a sign-up or search box: a form field and under 30 words of prose, unless a heading
  and a sentence make it a section;
* a bar or list of links and buttons (share buttons, social links, breadcrumbs, a table
  of contents): two or more (a skip link: one), and no more words of prose and headings
  than of links and buttons.

Links that count against an element are the ones that navigate: in-page (`#…`), script,
share endpoints (`?share=twitter`, `mailto:?subject=…`), to a social network (not to
its privacy policy), and, for navigation names (toc, breadcrumbs, sidebar …), any link.
A link to another site's document is prose. An element with no words (an empty `<a id>`
anchor a heading keeps) and one that holds the main content are never chrome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_CONSENT = {"consent", "cookieconsent", "onetrust", "cookiebot", "cmp", "cmplz", "gdpr",
            "cookielaw", "didomi", "usercentrics", "truste"}
_COOKIE_BOX = ("banner", "bar", "notice", "popup", "law", "consent", "modal", "overlay",
               "dialog", "notification", "alert", "message", "box", "wall", "prompt", "window")
_COOKIE = re.compile("cookies?(?:" + "|".join(_COOKIE_BOX) + ")")
_NAVIGATION = {"banner", "modal", "popup", "breadcrumb", "breadcrumbs", "skip", "sidebar",
               "navbar", "toc"}
_TOPICS = {"share", "sharing", "social", "newsletter"}  # chrome names and policy topics
_SOCIAL = ("facebook.com", "fb.com", "twitter.com", "x.com", "t.co", "linkedin.com",
           "instagram.com", "youtube.com", "youtu.be", "tiktok.com", "pinterest.com",
           "reddit.com", "whatsapp.com", "wa.me", "t.me", "telegram.me", "threads.net",
           "tumblr.com", "xing.com", "vk.com", "weibo.com", "bsky.app", "mastodon.social",
           "addthis.com", "sharethis.com", "getpocket.com", "flipboard.com")
_DOCUMENT = re.compile(r"(?i)privacy|polic|legal|terms|cookie|datenschutz|/data")
_SHARE_URL = re.compile(r"(?i)[?&/](?:share|sharer|sharing)\b|intent/tweet|sharearticle|pin/create"
                        r"|addtoany")  # a share endpoint: ?share=twitter, /sharer.php …
_SHARE_SCHEMES = {"javascript", "sms", "whatsapp", "tg", "fb-messenger", "viber"}
_AGREE = re.compile(r"(?i)^\W*(?:i\s+|yes,?\s+)?(?:(?:accept|agree|allow|reject|decline|deny|refuse"
                    r"|dismiss|close|ok|okay|got\s+it|understand|continue)\b|[x×✕✖]\W*$)")
_UNSEEN = {"script", "style", "noscript", "template", "svg", "canvas", "head", "title",
           "iframe", "object", "embed", "img", "video", "audio", "picture", "map"}
_BUTTON_INPUTS = {"button", "submit", "reset", "image"}
_WORD = re.compile(r"\w+")


def name_words(el: etree._Element) -> list[str]:
    """The words of an element's id and classes: split at anything not a letter and
    between camelCase humps, lower case (`cookieBanner_v2` -> cookie, banner, v)."""
    raw = f"{el.get('id') or ''} {el.get('class') or ''}"
    return re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", raw).lower())


def is_chrome(el: etree._Element, page_has_main: bool) -> bool:
    """Whether an element the page's structure keeps (no `nav`, `aside`, dialog role …)
    is chrome by its name and content (see the module's rules). `page_has_main`: the page
    has a `<main>`, `role=main` or `<article>` with text, so "outside" it means chrome."""
    words = name_words(el)
    present = set(words)
    consent = bool(present & _CONSENT or {"ot", "sdk"} <= present
                   or {"cc", "window"} <= present or {"cc", "banner"} <= present
                   or any(_COOKIE.fullmatch(w) for w in words)
                   or present & {"cookie", "cookies"} and present & set(_COOKIE_BOX))
    pairs = set(zip(words, words[1:], strict=False))
    navigation = bool(present & _NAVIGATION or {("site", "header"), ("site", "footer")} & pairs)
    if not (consent or navigation or present & _TOPICS):
        return False
    held = _holds(el, navigation)
    if held.main or not (held.prose or held.headed or held.nav):
        return False
    inside = not page_has_main or any(
        a.tag in ("main", "article") or (a.get("role") or "").lower() == "main"
        for a in el.iterancestors())
    fixed = re.search(r"position\s*:\s*(?:fixed|sticky)", el.get("style") or "", re.I)
    if consent and not (held.heading and inside) and held.prose < 150 and (
            held.agree or not inside or fixed):
        return True
    if held.entry and held.prose < 30 and not (held.heading and held.prose >= 6):
        return True
    return held.items >= (1 if "skip" in present else 2) and held.prose + held.headed <= (
        held.nav)


@dataclass
class _Held:
    prose: int = 0  # words outside headings, navigating links and controls
    headed: int = 0  # words in headings
    heading: bool = False
    nav: int = 0  # words of navigating links and buttons, at least one each
    items: int = 0  # navigating links and buttons
    entry: bool = False  # a form or a field to type in
    agree: bool = False  # a button or link saying Accept, Reject, OK …
    main: bool = False  # holds the main content (or the whole page)


def _holds(el: etree._Element, navigation: bool) -> _Held:
    held = _Held()

    def text(value: str | None, heading: bool) -> None:
        count = len(_WORD.findall(value or ""))
        if heading:
            held.headed += count
        else:
            held.prose += count

    def control(node: etree._Element) -> None:
        label = " ".join(node.text_content().split()) or node.get("value") or node.get(
            "aria-label") or node.get("title") or ""
        count = len(_WORD.findall(label))
        held.items += 1
        held.nav += max(1, count)
        held.agree = held.agree or (count <= 6 and bool(_AGREE.match(label)))

    def walk(node: etree._Element, heading: bool) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if not tag or tag in _UNSEEN:
            return
        role, kind = (node.get("role") or "").lower(), (node.get("type") or "text").lower()
        if tag == "button" or role == "button" or (tag == "input" and kind in _BUTTON_INPUTS):
            control(node)
        elif tag in ("input", "select", "textarea"):
            held.entry = held.entry or kind != "hidden"
        elif tag in ("label", "option", "legend"):
            return  # a field's words
        elif tag == "a" and node.get("href") is not None and _navigates(
                node.get("href"), navigation):
            control(node)
        else:
            held.entry = held.entry or tag == "form"
            held.main = held.main or tag in ("main", "article", "body") or role == "main"
            heading = heading or tag in _HEADINGS
            held.heading = held.heading or heading
            text(node.text, heading)
            for child in node:
                walk(child, heading)
                text(child.tail, heading)

    walk(el, False)
    return held


def _navigates(href: str, navigation: bool) -> bool:
    """Whether a link moves around the site or shares the page rather than cites."""
    href = href.strip()
    if not href or href.startswith("#"):
        return True
    try:
        parts = urlsplit(href)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme in _SHARE_SCHEMES:
        return True
    if scheme == "mailto":
        return not parts.path.strip()  # mailto:?subject=… shares the page by mail
    if _SHARE_URL.search(href) and not _DOCUMENT.search(parts.path):
        return True
    if any(host == site or host.endswith("." + site) for site in _SOCIAL):
        return navigation or not _DOCUMENT.search(parts.path)
    return navigation and scheme in ("", "http", "https")
