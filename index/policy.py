"""Load a policy: Markdown (with optional YAML front matter) or plain text.

A `Policy` keeps the source text exactly as read (offsets of chunks point into it),
plus what the rest of the product needs to know about it: its title, its "Last
Revised" date, the privacy inbox it names and its SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from index.errors import PolicyError
from index.files import read_file
from index.text import heading_level, heading_lines, render_block, render_inline

MAX_POLICY_BYTES = 5_000_000

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(?:\r?\n|\Z)", re.S)
_REVISED = re.compile(
    r"(?:last\s+(?:revised|updated|modified)|effective(?:\s+date)?)\s*(?:on)?\s*[:\-–]?\s*"
    r"\**\s*([A-Z][a-z]+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}(?:st|nd|rd|th)? [A-Z][a-z]+,? \d{4})",
    re.I,
)
_MAILTO = re.compile(r"mailto:([^\s)\"'<>?,;]+@[^\s)\"'<>?,;]+)", re.I)
_BARE_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_SITE = re.compile(r"\((https?://[^/\s)]+)/?\)|<(https?://[^/\s>]+)/?>")
_MARKDOWN_HINT = re.compile(
    r"^(#{1,6}[ \t]|\*\*|[*-][ \t]|\d+\.[ \t]|[ \t]*\|.*\|[ \t\r]*$)|\]\("
    r"|^[^\n]*\S[^\n]*\n {0,3}(?:={3,}|-{3,})[ \t\r]*$", re.M)


@dataclass(frozen=True)
class Policy:
    """A policy as read from disk. `source` is the text; `body_start` is where the
    text after any front matter begins."""

    source: str
    body_start: int
    title: str
    last_revised: str | None
    inbox: str | None
    sha256: str
    is_markdown: bool
    url: str = ""
    name: str = "policy"

    @property
    def body(self) -> str:
        return self.source[self.body_start :]


def load_policy(path: Path | str) -> Policy:
    """Read a policy file, refusing anything that is not non-empty UTF-8 text."""
    path = Path(path)
    return parse_policy(read_file(path, "policy file", PolicyError), name=path.name)


def parse_policy(data: bytes | str, name: str = "policy") -> Policy:
    """Parse policy bytes or text; the single place that decides what a policy is."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy {name} is {len(raw)} bytes; the limit is {MAX_POLICY_BYTES}")
    if b"\x00" in raw:
        raise PolicyError(f"policy {name} looks binary (it contains NUL bytes), not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"policy {name} is not UTF-8 text (bad byte at position {exc.start})"
        ) from None
    meta, body_start = _front_matter(text, name)
    body = text[body_start:]
    if not re.search(r"\w{2,}", body):
        raise PolicyError(f"policy {name} has no text to index")
    if not re.search(r"\w{2,}", render_block(body)):
        raise PolicyError(f"policy {name} has no text to index, only headings or markup")
    digest = hashlib.sha256(raw).hexdigest()
    return Policy(
        source=text,
        body_start=body_start,
        title=_title(meta, body, name),
        last_revised=_last_revised(meta, body),
        inbox=_inbox(meta, body),
        sha256=digest,
        is_markdown=bool(_MARKDOWN_HINT.search(body)),
        url=_page_url(meta, body),
        name=name,
    )


def _front_matter(text: str, name: str) -> tuple[dict, int]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        raise PolicyError(f"policy {name} has front matter that is not valid YAML") from None
    return (meta if isinstance(meta, dict) else {}), match.end()


def _title(meta: dict, body: str, name: str) -> str:
    """The H1's text, else the front matter `title`, else a short first line that is
    not a heading, else the file name."""
    h1 = next((text for _, level, text in heading_lines(body) if level == 1 and text), None)
    if h1:
        return h1
    if isinstance(meta.get("title"), str) and meta["title"].strip():
        return render_inline(meta["title"])
    first_line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    if first_line and not heading_level(first_line):
        first_line = render_inline(first_line)
        if first_line and len(first_line) <= 80 and not first_line.endswith((".", ",", ";")):
            return first_line
    return Path(name).stem.replace("-", " ").replace("_", " ").strip() or "Privacy Policy"


def _last_revised(meta: dict, body: str) -> str | None:
    for key in ("last_revised", "last_updated", "updated", "date"):
        if meta.get(key):
            return str(meta[key])
    match = _REVISED.search(body)
    return match.group(1) if match else None


def _inbox(meta: dict, body: str) -> str | None:
    for key in ("privacy_email", "contact", "email"):
        value = meta.get(key)
        if isinstance(value, str) and "@" in value:
            return value.strip()
    match = _MAILTO.search(body) or _BARE_EMAIL.search(body)
    return match.group(1) if match else None


def _page_url(meta: dict, body: str) -> str:
    """Where the policy is published: front matter `url`/`canonical`, else the site
    the policy first links to plus the page slug (front matter `permalink`/`slug`, or
    its title), e.g. https://koreroapp.com/privacy. Empty when unknown."""
    for key in ("url", "canonical", "canonical_url"):
        if isinstance(meta.get(key), str) and meta[key].startswith(("http://", "https://")):
            return meta[key].strip()
    site = _SITE.search(body)
    if not site or not meta:
        return ""
    slug = meta.get("permalink") or meta.get("slug") or meta.get("title") or "privacy"
    path = re.sub(r"[^\w/-]+", "-", str(slug).strip().strip("/").lower()).strip("-")
    return f"{(site.group(1) or site.group(2)).rstrip('/')}/{path}"
