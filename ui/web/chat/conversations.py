"""A conversation kept per browser tab across a reload, without taking history from
the client.

The security rule of the chat (ui/web/gradio_guard.py, ui/web/chat/widget.py) is that no
function takes the conversation, or anything file-like, from the browser: the Chatbot
is output only and the history lives in the session's gr.State. A reload starts a new
gradio session, so the state would be lost. To keep it:

- on the visitor's first question the server issues an unguessable token
  (`secrets.token_urlsafe`, 256 bits) and keeps the session's state under it in a
  `ConversationStore`: in memory, at most `max_items` conversations (least recently used
  dropped first), each forgotten `ttl_seconds` after its last use, and on "New
  conversation";
- the page keeps only the token, in sessionStorage (so per tab: a new tab has none and
  starts afresh; a duplicated tab shares it, as browsers copy sessionStorage). The
  server hands it over in a visually hidden textbox, and the page's script
  (ui/web/static/chat.js) copies the box's value to sessionStorage; the
  Content-Security-Policy forbids gradio's `js=` handlers (they use eval);
- after a reload the script types the kept token into that box once; its `input` event
  sends the token (a short string, checked against TOKEN) and the server renders the
  stored history itself. A token that is unknown, expired or malformed changes
  nothing; nothing the client sends becomes history.

So the guard's guarantees hold: the only new input is a string of at most 64
URL-safe characters, and the only history is the server's. The store is per process
(a restart forgets conversations, which costs a visitor only the scroll-back).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import gradio as gr

from ui.web.chat.options import greeting, suggestions
from ui.web.chat.render import escape_user

TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MAX_CONVERSATIONS = 2000
TTL_SECONDS = 2 * 60 * 60  # two hours after the last message

class ConversationStore:
    """Bounded, expiring, thread-safe map of token -> a session's chat state."""

    def __init__(self, *, max_items: int = MAX_CONVERSATIONS, ttl_seconds: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_items < 1 or ttl_seconds <= 0:
            raise ValueError(f"max_items must be >= 1 and ttl_seconds > 0; "
                             f"got {max_items} and {ttl_seconds}")
        self.max_items = max_items
        self.ttl = ttl_seconds
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def put(self, token: str, state: dict[str, Any]) -> None:
        if not isinstance(token, str) or not TOKEN.match(token):
            return
        with self._lock:
            self._items[token] = (self._clock(), state)
            self._items.move_to_end(token)
            self._expire()
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def get(self, token: object) -> dict[str, Any] | None:
        """The state kept under `token`, or None (unknown, expired or not a token)."""
        if not isinstance(token, str) or not TOKEN.match(token):
            return None
        with self._lock:
            self._expire()
            found = self._items.get(token)
            if found is None:
                return None
            self._items[token] = (self._clock(), found[1])
            self._items.move_to_end(token)
            return found[1]

    def keep(self, state: dict[str, Any]) -> None:
        """Keep a session's state under its own token, once it has a conversation."""
        if state.get("token") and state.get("history"):
            self.put(state["token"], state)

    def drop(self, token: object) -> None:
        if isinstance(token, str):
            with self._lock:
                self._items.pop(token, None)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def _expire(self) -> None:
        now = self._clock()
        while self._items:
            token, (used, _) = next(iter(self._items.items()))
            if now - used < self.ttl:
                return
            del self._items[token]


def wire(demo: gr.Blocks, store: ConversationStore, fresh: Callable[[], dict],
         state: gr.State, chatbot: gr.Chatbot, token: gr.Textbox, new_button: gr.Button,
         offers: list[Any]) -> None:
    """Restore on load and "New conversation" (which forgets the conversation here and
    in the tab, and hides `offers`). Saving is the handlers' own `store.keep(state)`,
    on the server before the reply is shown: no `state.change` event, which would cost
    a second gradio event per reply and race the visitor's next click."""
    quiet = {"show_progress": "hidden", "api_visibility": "private"}

    def options(request: gr.Request):
        """The page's greeting and suggested questions (ui/web/chat/options.py)."""
        params = getattr(request, "query_params", None)
        shown: dict[str, Any] = {}
        if greeting(params):
            shown["placeholder"] = escape_user(greeting(params))
        if suggestions(params):
            shown["examples"] = [{"text": q} for q in suggestions(params)]
        return gr.update(**shown) if shown else gr.skip()

    def restore(tab_token: str, current: dict):
        """The tab's conversation, if the server still has it; else as it is."""
        kept = store.get(tab_token)
        if kept is None or current.get("history"):
            return gr.skip(), gr.skip(), gr.skip()
        return kept["history"], {**kept, "asking": None}, kept["token"]

    def forget(current: dict):
        store.drop(current.get("token"))
        return [], fresh(), "", *[gr.update(visible=False)] * len(offers)

    demo.load(options, None, [chatbot], **quiet)
    token.input(restore, [token, state], [chatbot, state, token], **quiet)
    new_button.click(forget, [state], [chatbot, state, token, *offers], **quiet)
