"""A pytest plugin that counts what the suite asks the model to embed: texts, distinct
texts and seconds inside `Embedder.encode` / `encode_tokens`, printed at the end.

    PYTHONPATH=scripts .venv/bin/python -m pytest -q -m "not training" -p encode_counts
    POLICY_QA_TEST_ENCODE_ONCE=0 PYTHONPATH=scripts .venv/bin/python -m pytest ... -p encode_counts

The second form turns off the session embedder's memory (tests/conftest.py), so it
counts every text as the model would see it without it. Only the pytest process is
counted (not the CLI and server processes some tests start)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from index.embed import Embedder

_COUNTS: Counter[str] = Counter()
_SECONDS: Counter[str] = Counter()
_TEXTS: dict[str, set[str]] = {"encode": set(), "encode_tokens": set()}


def _counted(name: str) -> Any:
    original = getattr(Embedder, name)

    def run(self: Embedder, texts: list[str]) -> Any:
        start = time.perf_counter()
        try:
            return original(self, texts)
        finally:
            _SECONDS[name] += time.perf_counter() - start
            _COUNTS[name] += len(texts)
            _TEXTS[name].update(texts)

    return run


Embedder.encode = _counted("encode")  # type: ignore[method-assign]
Embedder.encode_tokens = _counted("encode_tokens")  # type: ignore[method-assign]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name in ("encode", "encode_tokens"):
        terminalreporter.write_line(
            f"Embedder.{name}: {_COUNTS[name]:,} texts, {len(_TEXTS[name]):,} distinct, "
            f"{_SECONDS[name]:.1f} s")
