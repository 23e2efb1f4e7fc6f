"""The per-tab conversation store (ui/web/chat/conversations.py) and the chat page's
URL options (ui/web/chat/options.py): bounded, expiring, only server-issued tokens."""

from __future__ import annotations

import pytest

from ui.web.chat.conversations import TOKEN, ConversationStore
from ui.web.chat.options import MAX_GREETING, greeting, suggestions


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_unguessable_and_well_formed():
    tokens = {ConversationStore.new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(TOKEN.match(t) and len(t) >= 43 for t in tokens)


def test_kept_until_it_expires_after_its_last_use():
    clock = Clock()
    store = ConversationStore(ttl_seconds=60, clock=clock)
    token = store.new_token()
    store.put(token, {"history": [1]})
    clock.now = 59
    assert store.get(token) == {"history": [1]}  # a use: the clock restarts
    clock.now = 118
    assert store.get(token) is not None
    clock.now = 179
    assert store.get(token) is None and len(store) == 0


def test_bounded_least_recently_used_first():
    store = ConversationStore(max_items=2)
    a, b, c = (store.new_token() for _ in range(3))
    store.put(a, {"n": "a"})
    store.put(b, {"n": "b"})
    store.get(a)
    store.put(c, {"n": "c"})
    assert store.get(b) is None and store.get(a) == {"n": "a"} and len(store) == 2


@pytest.mark.parametrize("token", ["", "short", "x" * 65, "../../etc/passwd" + "a" * 30,
                                   None, 42, ["a" * 43], {"path": "/etc/passwd"}])
def test_anything_but_a_kept_token_finds_nothing(token):
    store = ConversationStore()
    store.put("a" * 43, {"history": ["kept"]})
    assert store.get(token) is None
    store.put(token, {"history": ["forged"]})  # type: ignore[arg-type]
    assert len(store) == 1


def test_drop_forgets():
    store = ConversationStore()
    token = store.new_token()
    store.put(token, {})
    store.drop(token)
    store.drop(None)
    assert store.get(token) is None


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="max_items"):
        ConversationStore(max_items=0)


def test_greeting_and_suggestions_from_the_url_are_clipped_and_cleaned():
    assert greeting({"greeting": "  Hi\n there  "}) == "Hi there"
    assert len(greeting({"greeting": "x" * 1000})) == MAX_GREETING
    assert greeting({}) == "" and greeting(None) == "" and greeting({"greeting": ["a"]}) == ""
    asks = suggestions({"suggest": "A?| |B?|A?|" + "|".join(f"q{i}" for i in range(10))})
    assert asks == ["A?", "B?", "q0", "q1", "q2", "q3"]
    assert len(suggestions({"suggest": "y" * 500})[0]) == 200
    # a greeting with a link is not shown (the chat's Markdown would make it clickable)
    for linked in ("Sign in at https://evil.example/login", "see www.evil.example",
                   "Sign in at evil\u3002example/x", "go to http://2130706433/login",
                   "write to help.example.com"):
        assert greeting({"greeting": linked}) == "", linked
    assert greeting({"greeting": "Kia ora! Ask about e.g. cookies."}) == (
        "Kia ora! Ask about e.g. cookies.")
