"""Load a policy in any supported format (index/formats/: Markdown, HTML, PDF, Word,
plain text, detected by content) into one `Policy` record.

`source` is the splitter's representation (for Markdown and plain text the file
exactly as read; otherwise the Markdown the format module wrote), so chunk offsets
point into it. The record also says what the rest of the product needs to know: the
title, the "Last Revised" date, the privacy inbox (and why that address), the page
the policy is published at, the format and, for a PDF, where each page begins.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from index.errors import PolicyError
from index.files import read_file
from index.formats import MAX_DOCUMENT_BYTES, MAX_TEXT_BYTES, convert, unescape
from index.inbox import find_inbox
from index.text import heading_level, heading_lines, render_block, render_inline

MAX_POLICY_BYTES = MAX_TEXT_BYTES

# a date as policies write it: "September 9, 2020", "9 September 2020", "4. Mai 2026",
# "2020-09-09", with an optional weekday before it ("Montag, 4. Mai 2026")
_DATE = (r"(?:[^\W\d_]+,\s+)?([^\W\d_]{3,}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}"
         r"|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th|\.)? [^\W\d_]{3,}\.?,? \d{4})")
# anywhere in the text: a phrase that can only introduce the revision date
_REVISED = re.compile(
    r"(?:last\s+(?:revised|updated|modified)|effective(?:\s+date)?|zuletzt\s+(?:aktualisiert"
    r"|geändert)|gültig\s+(?:ab|seit))\s*(?:on|am)?\s*[:\-–]?\s*\**\s*" + _DATE, re.I)
# near the top only: a line that is nothing but a date, maybe after "Updated", "Effective",
# "Version", "Stand" (German) ...; the month must then be a month's name
_MONTHS = r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|märz|mai|okt|dez|\d{4}-"
_DATE_LINE = re.compile(
    r"(?:(?:last\s+)?(?:updated|revised|modified)|effective(?:\s+date)?|version|dated?"
    r"|published|gültig\s+(?:ab|seit)|stand|zuletzt\s+aktualisiert)?\s*(?:on|am|as of)?\s*"
    r"[:\-–]?\s*" + _DATE + r"\.?", re.I)
_DATETIME_ATTRIBUTE = re.compile(r"^\s*\{:[^{}\n]*\bdatetime=[\"']?(\d{4}-\d{2}-\d{2})")
TOP_LINES = 4  # how many lines of text before the first section heading count as the top
_URL_KEYS = ("url", "canonical", "canonical_url", "og_url")


@dataclass(frozen=True)
class Policy:
    """A policy as read from disk. `source` is the text; `body_start` is where the
    text after any front matter begins. `pages[i]` is the offset in `source` where
    page i+1 of a PDF begins (empty for other formats)."""

    source: str
    body_start: int
    title: str
    last_revised: str | None
    inbox: str | None
    sha256: str
    is_markdown: bool
    url: str = ""
    name: str = "policy"
    format: str = "markdown"
    inbox_reason: str = ""
    pages: tuple[int, ...] = ()
    # for a policy fetched by URL: (key, value) pairs of url, bytes, sha256, etag,
    # last_modified and fetched_at, kept in the index manifest for a later re-sync
    source_info: tuple[tuple[str, str | int], ...] = ()

    @property
    def body(self) -> str:
        return self.source[self.body_start :]

    @property
    def base_url(self) -> str:
        """Where links point: the page's own URL, or "" (fragment-only links)."""
        return self.url


def load_policy(path: Path | str, *, base_url: str = "") -> Policy:
    """Read a policy file, refusing anything that is not a policy with text.
    `base_url` (the caller's `--base-url`) wins over what the file says."""
    path = Path(path)
    try:
        size = path.stat().st_size if path.is_file() else 0
    except OSError:
        size = 0
    if size > MAX_DOCUMENT_BYTES:
        raise PolicyError(f"policy {path.name} is {size} bytes; the limit is "
                          f"{MAX_DOCUMENT_BYTES}")
    raw = read_file(path, "policy file", PolicyError)
    return parse_policy(raw, name=path.name, base_url=base_url)


def load_policy_url(url: str, *, base_url: str = "", allow_private: bool = False) -> Policy:
    """Fetch a published policy (index/fetch.py) and parse it. Its URL is `base_url`
    if given, else the page's own canonical URL, else the final URL fetched."""
    from index.fetch import fetch_policy

    fetched = fetch_policy(url, allow_private=allow_private)
    parts = urlsplit(fetched.url)
    name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) or parts.hostname or "policy"
    if fetched.content_type in ("text/html", "application/xhtml+xml") and not Path(name).suffix:
        name += ".html"  # the file name breaks a tie between Markdown and an HTML fragment
    policy = parse_policy(fetched.data, name=name, base_url=base_url)
    info = (("url", fetched.url), ("bytes", len(fetched.data)), ("sha256", fetched.sha256),
            ("etag", fetched.etag), ("last_modified", fetched.last_modified),
            ("fetched_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    return replace(policy, url=policy.url or fetched.url, source_info=info)


def parse_policy(data: bytes | str, name: str = "policy", *, base_url: str = "") -> Policy:
    """Parse policy bytes or text; the single place that decides what a policy is."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    doc = convert(raw, name)
    body = doc.text[doc.body_start :]
    if not re.search(r"\w{2,}", body):
        raise PolicyError(f"policy {name} has no text to index")
    if not re.search(r"\w{2,}", render_block(body)):
        raise PolicyError(f"policy {name} has no text to index, only headings or markup")
    meta = dict(doc.meta)
    inbox, reason = find_inbox(meta, body)
    return Policy(
        source=doc.text,
        body_start=doc.body_start,
        title=_title(meta, body, name),
        last_revised=_last_revised(meta, body),
        inbox=inbox,
        sha256=hashlib.sha256(raw).hexdigest(),
        is_markdown=doc.format != "text",
        url=base_url.strip() or page_url(meta),
        name=name,
        format=doc.format,
        inbox_reason=reason,
        pages=doc.pages,
    )


def _title(meta: dict, body: str, name: str) -> str:
    """The H1's text, else the file's own title (front matter, `<title>`, document
    properties), else a short first line that is not a heading or a date, else the file
    name."""
    h1 = next((text for _, level, text in heading_lines(body) if level == 1 and text), None)
    if h1:
        return h1
    for key in ("title", "og_title"):
        if isinstance(meta.get(key), str) and render_inline(meta[key]).strip():
            return render_inline(meta[key])
    first_line = next((ln.strip() for ln in body.splitlines()
                       if ln.strip() and not date_of_line(render_inline(ln))), "")
    if first_line and not heading_level(first_line):
        first_line = render_inline(first_line)
        if first_line and len(first_line) <= 80 and not first_line.endswith((".", ",", ";")):
            return first_line
    return Path(name).stem.replace("-", " ").replace("_", " ").strip() or "Privacy Policy"


def _last_revised(meta: dict, body: str) -> str | None:
    """Front matter; else a "Last revised/updated", "Effective (date)" or "Gültig ab"
    date anywhere; else a date line at the top (`top_date`)."""
    for key in ("last_revised", "last_updated", "updated", "date"):
        if meta.get(key):
            return str(meta[key])
    match = _REVISED.search(unescape(body))
    return match.group(1) if match else top_date(body)


def top_date(body: str) -> str | None:
    """The date of a line at the top of the policy (among its first TOP_LINES lines of
    text, before its first section heading) that is nothing but a date, maybe after
    "Updated", "Effective", "Gültig ab" …, else a kramdown attribute list there
    (`{: datetime="2020-09-09" }`). A date inside a paragraph is never taken."""
    headings = {number: level for number, level, _ in heading_lines(body)}
    seen, found = 0, None
    for number, line in enumerate(body.split("\n")):
        if headings.get(number, 1) > 1 or seen >= TOP_LINES:
            break
        attribute = _DATETIME_ATTRIBUTE.match(line)
        found = found or (attribute.group(1) if attribute else None)
        text = render_inline(line)
        if text and number not in headings:
            seen += 1
            if date_of_line(text):
                return date_of_line(text)
    return found


def date_of_line(text: str) -> str | None:
    """The date of a line of reader text that is nothing but a date (with a month's
    name, or ISO), maybe after "Updated", "Effective", "Gültig ab" …; else None."""
    match = _DATE_LINE.fullmatch(text.strip())
    word = re.search(r"[^\W\d_]{3,}|^\d{4}-", match.group(1)) if match else None
    return match.group(1) if word and re.match(_MONTHS, word.group(0).lower()) else None


def page_url(meta: dict) -> str:
    """Where the policy is published, as the file itself says: front matter `url` /
    `canonical`, or an HTML page's `<link rel=canonical>` / `og:url`. Never a site
    the policy merely links to: empty when unknown (links are then fragment-only)."""
    for key in _URL_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
            return value.strip()
    return ""
