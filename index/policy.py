"""Load a policy in any supported format (index/formats/: Markdown, HTML, PDF, Word,
plain text, detected by content) into one `Policy` record.

`source` is the splitter's representation (for Markdown and plain text the file
exactly as read; otherwise the Markdown the format module wrote), so chunk offsets
point into it. The record also says what the rest of the product needs to know: the
title, the "Last Revised" date, the privacy inbox (and why that address), the page
the policy is published at, the format and, for a PDF, where each page begins.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from index.errors import PolicyError
from index.files import read_file
from index.formats import MAX_DOCUMENT_BYTES, MAX_TEXT_BYTES, convert, unescape
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


# --- the privacy inbox -------------------------------------------------------------

_MAILTO = re.compile(r"mailto:([^\s)\"'<>?,;]+@[^\s)\"'<>?,;]+)", re.I)
_BARE_EMAIL = re.compile(r"(?<![\w.%+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                         r"\.[A-Za-z]{2,24})\b")
_AT = r"(?:\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+|@)"
_DOT = r"(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+|\.)"
_OBFUSCATED = re.compile(rf"(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]*){_AT}([A-Za-z0-9-]+"
                         rf"(?:{_DOT}[A-Za-z0-9-]+)*?){_DOT}([A-Za-z]{{2,24}})\b", re.I)
_NOT_MAILBOXES = frozenset("us me you them him her it we one anytime once email mail contact "
                           "write available located look here there online home work all "
                           "least first last best or and".split())
_PRIVACY_BOX = re.compile(r"privacy|dpo|data[._-]?protection|gdpr|dsar|datenschutz", re.I)
_PRIVACY_LABEL = re.compile(r"\b(privacy|data[ -]protection(?: officer)?|DPO|GDPR|"
                            r"datenschutz\w*)\b", re.I)
_CONTACT_SECTION = re.compile(r"contact|privacy|rights|data protection|questions|reach|dpo"
                              r"|kontakt|complain", re.I)
# "if you have any (other) questions about … privacy, contact us at …": the general inbox
_QUESTIONS_TO = re.compile(r"\bquestions?\b[^.]{0,160}\b(?:contact|write|e-?mail|reach)\b", re.I)
_ABOUT_PRIVACY = re.compile(r"privacy|personal (?:data|information)|data protection|"
                            r"th(?:is|e) (?:policy|notice|statement)", re.I)
# "if you're in the UK or EEA, you can also contact our DPO at …": for some visitors only
_ONLY_FOR = re.compile(r"\bif you(?:['\u2019]re| are| live| reside)\s+(?:located\s+|based\s+)?"
                       r"(?:in|a resident of)\b[^.]{0,60}$", re.I)
_UNWANTED_BOX = re.compile(r"^(?:no-?reply|do-?not-?reply|press|media|jobs|careers|sales"
                           r"|marketing|abuse|webmaster)\b", re.I)


def find_inbox(meta: dict, body: str) -> tuple[str | None, str]:
    """The privacy inbox the policy publishes and a short reason for the choice.
    Front matter wins; else every address in the text (mailto:, bare, or obfuscated
    as `privacy[at]example[dot]com`) is scored: a privacy/DPO mailbox or label near
    it, a contact or privacy-rights section, a mailto: link; ties go to the first."""
    for key in ("privacy_email", "contact", "email"):
        value = meta.get(key)
        if isinstance(value, str) and "@" in value:
            return value.strip(), f"front matter `{key}`"
    text = unescape(body)
    sections = [(number, title) for number, _, title in heading_lines(text)]
    best: tuple[float, int, str, list[str]] | None = None
    breaks = [m.start() for m in re.finditer("\n", text)]
    lines: dict[str, set[int]] = {}
    for start, address, how in _addresses(text):
        line = bisect.bisect(breaks, start)
        lines.setdefault(address.lower(), set()).add(line)
        score, why = _score(text, start, line, address, how, sections)
        if best is None or score > best[0]:
            best = (score, start, address, why)
    if best is None:
        return None, "no e-mail address in the policy"
    _, _, address, why = best
    count = len(lines[address.lower()])
    if not why:
        why = ["the only address in the policy" if len(lines) == 1 else
               "the first address in the policy"]
    return address, ", ".join(why + ([f"mentioned {count} times"] if count > 1 else []))


def _addresses(text: str):
    found = [(m.start(), m.group(1), "a mailto: link") for m in _MAILTO.finditer(text)]
    linked = {i for m in _MAILTO.finditer(text) for i in range(m.start(), m.end())}
    found += [(m.start(), m.group(1), "") for m in _BARE_EMAIL.finditer(text)
              if m.start() not in linked]
    for m in _OBFUSCATED.finditer(text):
        spelled = m.group(0)
        if "@" in spelled and "." in spelled.split("@")[-1] and "dot" not in spelled.lower():
            continue  # a plain address: found above
        word_at = "@" not in spelled and not re.search(r"[\[({<]\s*at", spelled, re.I)
        if word_at and (m.group(1).lower() in _NOT_MAILBOXES or not re.search(
                r"[\[({<]\s*dot|\sdot\s", spelled, re.I)):
            continue  # "contact us at example.com" is no address
        domain = re.sub(_DOT, ".", m.group(2), flags=re.I)
        found.append((m.start(), f"{m.group(1)}@{domain}.{m.group(3)}", "spelled out"))
    return sorted(found)


def _score(text: str, start: int, line: int, address: str, how: str,
           sections: list[tuple[int, str]]) -> tuple[float, list[str]]:
    local = address.split("@")[0]
    score, why = 0.0, []
    if _PRIVACY_BOX.search(local):
        score, why = score + 4, [f"a privacy mailbox ({local}@)"]
    before = text[max(text.rfind("\n\n", max(start - 200, 0), start), start - 200, 0) : start]
    after = text[start : start + 200].split(address, 1)[-1][:40].split("\n\n")[0]
    label = _PRIVACY_LABEL.search(before.replace("mailto:", " ") + " " + after)
    if label:
        score, why = score + 3, [*why, f"labelled {label.group(1)!r}"]
    title = next((t for n, t in reversed(sections) if n <= line), "")
    if title and _CONTACT_SECTION.search(title):
        score, why = score + 2, [*why, f"in section {title!r}"]
    sentence = before.replace("mailto:", " ").rsplit(". ", 1)[-1]
    if _QUESTIONS_TO.search(sentence) and _ABOUT_PRIVACY.search(sentence):
        score, why = score + 6, [*why, "given for questions"]
    if _ONLY_FOR.search(sentence.split(",")[0]):  # the clause before the first comma
        score, why = score - 4, [*why, "for visitors in some places only"]
    if how:
        score, why = score + (1 if how.startswith("a mailto") else 0.5), [*why, how]
    if _UNWANTED_BOX.match(local):
        score -= 5
    return score, why
