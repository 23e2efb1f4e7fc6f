"""The Service's answer cache: the last `size` answers by question key (the one key of
qa/normalize.py, so "Do you sell my data?" and "do you sell my data" share an entry),
least recently used first out; thread-safe. A cached answer comes back with the
question as it was asked this time. Size 0 keeps nothing."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace

from qa.normalize import question_key
from qa.records import Answer


class AnswerCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> Answer | None:
        key = question_key(text)
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return replace(self._items[key], question=text)

    def put(self, text: str, answer: Answer) -> Answer:
        """Remember `answer` for `text`; returns it (for use in an expression)."""
        if self.size > 0:
            with self._lock:
                self._items[question_key(text)] = answer
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
