"""Where a question was asked, as an escalation keeps it: the page the visitor was on
(`check_page_url`) and their earlier questions in the same chat (`clean_conversation`).
Both are visitor-supplied: they go to the privacy team in the mail body only, never in
a header, and the console shows them as text."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from index.errors import PolicyQAError
from qa.normalize import stored_text

__all__ = ["MAX_CONVERSATION", "MAX_PAGE_URL_CHARS", "MAX_TURN_CHARS", "check_page_url",
           "clean_conversation"]

MAX_PAGE_URL_CHARS = 2000
MAX_CONVERSATION = 10  # earlier questions kept with an escalation (the latest ones)
MAX_TURN_CHARS = 500


def check_page_url(url: str | None) -> str | None:
    """The page the visitor asked from: None when blank, else an absolute http(s) URL
    without credentials, control characters or whitespace, at most MAX_PAGE_URL_CHARS
    long (it goes in the mail body only, never in a header); PolicyQAError otherwise."""
    if url is None or (isinstance(url, str) and not url.strip()):
        return None
    if not isinstance(url, str):
        raise PolicyQAError(f"page_url must be text, not {type(url).__name__}")
    url = url.strip()
    shown = repr(url[:80]) + ("…" if len(url) > 80 else "")
    if len(url) > MAX_PAGE_URL_CHARS:
        raise PolicyQAError(f"page_url is too long: {len(url)} characters "
                            f"(limit {MAX_PAGE_URL_CHARS})")
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in url):
        raise PolicyQAError(f"page_url {shown} contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise PolicyQAError(f"page_url {shown} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise PolicyQAError(f"page_url {shown} must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise PolicyQAError(f"page_url {shown} must not contain a user name or password")
    return url


def clean_conversation(questions: Iterable[Any] | None) -> tuple[str, ...]:
    """The visitor's earlier questions as kept: text only, one line each, blank ones
    dropped, each at most MAX_TURN_CHARS, the latest MAX_CONVERSATION of them."""
    kept = []
    for item in list(questions or ()):
        if not isinstance(item, str):
            continue
        text = " ".join(stored_text(item).split())
        if text:
            kept.append(text[:MAX_TURN_CHARS])
    return tuple(kept[-MAX_CONVERSATION:])

