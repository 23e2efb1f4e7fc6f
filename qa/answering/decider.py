"""The resolved/unresolved decision of one index (Decider) and the wiring around it:
the shipped answerability model (qa/answering/answerability.py) put on the index's
scale — from its manifest's `answerability` record when `build` wrote one, else
calibrated on the shipped question bank when the index is first used — with the
index's Lexicon, kept while the index lives.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from qa.answering.answerability import (
    FEATURES,
    Answerability,
    IndexStats,
    Lexicon,
    calibrate,
    shipped_bank,
    shipped_model,
)
from qa.answering.retrieve import Retrieval, Retriever


class Decider:
    """The resolved/unresolved decision for one index: the shipped model, put on this
    index's scale (its IndexStats), and the index's Lexicon."""

    def __init__(self, model: Answerability, lexicon: Lexicon, bank_size: int) -> None:
        if model.stats is None:
            raise ValueError("a Decider needs a calibrated model (with_stats)")
        self.model, self.lexicon, self.bank_size = model, lexicon, bank_size

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def decide_many(self, retrievals: Sequence[Retrieval]) -> list[tuple[bool, float]]:
        """(resolved, probability) per retrieval; the queries are not embedded again."""
        if not retrievals:
            return []
        vectors = [r.vector for r in retrievals]
        evidence = self.lexicon.evidence_many(
            [r.question for r in retrievals],
            None if any(v is None for v in vectors) else vectors)
        return [self.model.decide(r, e) for r, e in zip(retrievals, evidence, strict=True)]

    def describe(self) -> dict[str, Any]:
        """How the decision was fitted (the manifest's and diagnostics' record)."""
        assert self.model.stats is not None
        return {"method": "answerability", "model": self.model.model,
                "features": list(FEATURES), "threshold": self.model.threshold,
                "bank_questions": self.bank_size,
                "fitted": "logistic model fitted across policies (scripts/answerability_lopo.py"
                          " --write-weights); this index's scale from the shipped bank's "
                          f"{self.bank_size} unanswerable questions, no labels of this policy",
                "stats": self.model.stats.to_dict()}


class _Deciders:
    """The Decider of each loaded index, kept while the index lives: an index is
    immutable, and its Lexicon (every policy word embedded) costs about a second."""

    def __init__(self) -> None:
        self._items: dict[tuple[int, str], tuple[weakref.ref, Decider]] = {}
        self._lock = threading.Lock()

    def get(self, index: Any, model_id: str, make: Callable[[], Decider]) -> Decider:
        key = (id(index), model_id)
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0]() is index:
                return found[1]
        decider = make()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if v[0]() is not None}
            self._items[key] = (weakref.ref(index), decider)
        return decider


_DECIDERS = _Deciders()


def create_decider(retriever: Any, model_id: str,
                   recorded: dict[str, Any] | None = None) -> Decider | None:
    """The index's Decider: the stats recorded in its manifest at build time when they
    are for these features, else calibrated now (a few seconds); None when the shipped
    weights are for another embedding model (the fixed threshold applies then)."""
    if shipped_model(model_id) is None:
        return None
    return _DECIDERS.get(retriever.index, model_id,
                         lambda: _make_decider(retriever, model_id, recorded))


def fitted_record(index: Any, embedder: Any) -> dict[str, Any] | None:
    """Build time: how this index decides (Decider.describe: the shipped model put on
    the index's scale from the generic question bank, no labels of this policy), for
    its manifest; None when the shipped weights are for another embedding model."""
    decider = create_decider(Retriever(index, embedder), embedder.id)
    return decider.describe() if decider is not None else None


def _make_decider(retriever: Any, model_id: str, recorded: dict[str, Any] | None) -> Decider:
    model = shipped_model(model_id)
    assert model is not None
    lexicon = Lexicon.of(retriever)
    bank = shipped_bank()
    stats = None
    if recorded and recorded.get("method") == "answerability" and recorded.get("stats"):
        try:
            stats = IndexStats.from_dict(recorded["stats"])
        except (KeyError, TypeError, ValueError):
            stats = None
    if stats is None:
        stats = calibrate(retriever, bank, lexicon)
    return Decider(model.with_stats(stats), lexicon, len(bank))
