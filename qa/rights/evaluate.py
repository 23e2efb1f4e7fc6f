"""Evaluation of a rights recognizer on labelled messages: pure functions.

Rows are JSON objects {"message": str, "request": bool, "kind": str | null}
(tests/data/rights-*.jsonl). `evaluate` returns request-vs-not precision and recall,
kind accuracy, a confusion table (true kind or "none" -> predicted kind or "none") and
one record per row. To print the held-out figures from the repository root:

    python -c "from qa.rights.evaluate import report; print(report('tests/data/rights-test.jsonl'))"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from index.errors import EvalDataError
from index.files import json_objects, read_text
from qa.rights.features import KINDS
from qa.rights.model import NONE
from qa.rights.recognize import Recognition, create_recognizer

LABELS = (*KINDS, NONE)


class Recognizer(Protocol):
    def recognize_many(self, messages: list[str]) -> list[Recognition]: ...


def label(row: Mapping[str, Any]) -> str:
    """A row's true label: its kind when it is a request, else "none"."""
    if not isinstance(row.get("message"), str) or not isinstance(row.get("request"), bool):
        raise EvalDataError(f"row needs a string 'message' and a boolean 'request': {row!r}")
    kind = row.get("kind")
    if row["request"] and kind not in KINDS:
        raise EvalDataError(f"request row has kind {kind!r}; expected one of {KINDS}")
    return kind if row["request"] else NONE


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file, each checked by `label`."""
    text = read_text(path, "labelled set", EvalDataError)
    rows = [row for _, row in json_objects(text, str(path), EvalDataError)]
    for row in rows:
        label(row)
    return rows


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def confusion(truth: list[str], predicted: list[str]) -> dict[str, dict[str, int]]:
    table = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
    for t, p in zip(truth, predicted, strict=True):
        table[t][p] += 1
    return table


def scores(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Request precision/recall (a request of any kind is the positive class) and kind
    accuracy over true requests recognised as requests, and over all true requests."""
    pairs = list(zip(truth, predicted, strict=True))
    tp = sum(t != NONE and p != NONE for t, p in pairs)
    fp = sum(t == NONE and p != NONE for t, p in pairs)
    fn = sum(t != NONE and p == NONE for t, p in pairs)
    right_kind = sum(t != NONE and t == p for t, p in pairs)
    return {
        "count": len(pairs),
        "requests": tp + fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "kind_accuracy": _ratio(right_kind, tp),
        "kind_accuracy_all": _ratio(right_kind, tp + fn),
        "true_positives": tp, "false_positives": fp, "false_negatives": fn,
        "confusion": confusion(truth, predicted),
    }


def evaluate(recognizer: Recognizer, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`scores` of the recognizer on the rows, plus one record per row."""
    rows = list(rows)
    truth = [label(r) for r in rows]
    found = recognizer.recognize_many([r["message"] for r in rows])
    predicted = [r.kind if r.is_request and r.kind else NONE for r in found]
    result = scores(truth, predicted)
    result["rows"] = [{"message": row["message"], "true": t, "predicted": p,
                       "score": round(r.score, 4), "correct": t == p}
                      for row, t, p, r in zip(rows, truth, predicted, found, strict=True)]
    return result


def confusion_table(table: Mapping[str, Mapping[str, int]]) -> str:
    """Plain-text table: one row per true label, one column per predicted label."""
    width = max(map(len, LABELS)) + 1
    head = "true \\ predicted".ljust(width) + "".join(p[:10].rjust(11) for p in LABELS)
    lines = [head] + [t.ljust(width) + "".join(str(table[t][p]).rjust(11) for p in LABELS)
                      for t in LABELS]
    return "\n".join(lines)


def summary(result: Mapping[str, Any]) -> str:
    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return "\n".join([
        f"messages {result['count']}, true requests {result['requests']}",
        f"request precision {fmt(result['precision'])}  recall {fmt(result['recall'])}",
        f"kind accuracy {fmt(result['kind_accuracy'])} (recognised requests), "
        f"{fmt(result['kind_accuracy_all'])} (all true requests)",
        confusion_table(result["confusion"]),
    ])


def report(path: str | Path, recognizer: Recognizer | None = None) -> str:
    """`summary` of `evaluate` on a JSON Lines file (default recognizer if none given)."""
    return summary(evaluate(recognizer or create_recognizer(), load_rows(path)))
