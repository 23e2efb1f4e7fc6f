"""The chat page's texts from its URL: `greeting` and `suggest` (widget.js passes the
script tag's data-greeting and data-suggestions so; they work on the page alone too).

    https://HOST/?greeting=Hi&suggest=Do+you+sell+my+data%3F%7CHow+do+I+delete...

Both are untrusted: clipped to the lengths widget.js uses, and escaped where shown
(the greeting as the chat's placeholder, the suggestions as its example buttons)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_GREETING = 300
MAX_SUGGESTIONS = 6
MAX_SUGGESTION = 200


def _param(params: Mapping[str, Any] | None, name: str) -> str:
    value = params.get(name) if params else None
    return value.strip() if isinstance(value, str) else ""


def greeting(params: Mapping[str, Any] | None) -> str:
    return " ".join(_param(params, "greeting")[:MAX_GREETING].split())


def suggestions(params: Mapping[str, Any] | None) -> list[str]:
    parts = (" ".join(s.split())[:MAX_SUGGESTION] for s in _param(params, "suggest").split("|"))
    return list(dict.fromkeys(p for p in parts if p))[:MAX_SUGGESTIONS]
