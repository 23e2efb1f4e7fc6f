"""The check `policy-qa tune` runs before and after training, and its gate.

`measure`: hit@1/hit@3/MRR of dense passage retrieval on the held-out questions (each
against the passages of its own document) and, when unanswerable questions are
labelled, the escalation balanced accuracy at its best threshold, with the metric
functions of `qa.evaluation.metrics`. `verdict`: the tuned model passes only if hit@3 improves
and balanced accuracy does not fall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from qa.evaluation.metrics import hit_at_k, mrr, threshold_sweep
from qa.evaluation.uncertainty import paired_rate_difference
from qa.tuning.data import Document


@dataclass(frozen=True)
class Metrics:
    hit_at_1: float
    hit_at_3: float
    mrr: float
    questions: int  # answerable held-out questions
    unanswerable: int = 0
    balanced_accuracy: float | None = None  # at its best threshold
    threshold: float | None = None
    # per answerable question, in order: 1.0 when hit at 3 (what the gate's interval reads)
    hits3: tuple[float, ...] = field(default=(), repr=False)

    def summary(self) -> dict[str, Any]:
        """The figures without the per-question outcomes (what a manifest records)."""
        return {k: v for k, v in asdict(self).items() if k != "hits3"}

    def line(self) -> str:
        text = (f"hit@1 {self.hit_at_1:.3f}  hit@3 {self.hit_at_3:.3f}  MRR {self.mrr:.3f} "
                f"({self.questions} questions)")
        if self.balanced_accuracy is not None:
            text += (f"  balanced accuracy {self.balanced_accuracy:.3f} at threshold "
                     f"{self.threshold:.3f} ({self.unanswerable} unanswerable)")
        return text


def encode(model: Any, texts: Sequence[str]) -> np.ndarray:
    return model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)


def _rank(doc: Document, model: Any) -> tuple[list[list[str]], list[float]]:
    """Per query: distinct passage labels best first, and the best cosine."""
    scores = encode(model, [q.question for q in doc.queries]) @ encode(model, doc.passages).T
    ranked, top = [], []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        ranked.append(list(dict.fromkeys(doc.labels[i] for i in order)))
        top.append(float(row[order[0]]))
    return ranked, top


def measure(model: Any, docs: Sequence[Document]) -> Metrics:
    """hit@1/hit@3/MRR of the answerable questions (each against the passages of its own
    document); escalation balanced accuracy at the best threshold on the top cosine,
    over the documents whose questions include unanswerable ones."""
    ranked: list[list[str]] = []
    gold: list[frozenset[str]] = []
    confidence: list[float] = []
    answerable: list[bool] = []
    for doc in docs:
        lists, top = _rank(doc, model)
        labelled = any(not q.answerable for q in doc.queries)  # escalation labels
        for query, labels, score in zip(doc.queries, lists, top, strict=True):
            if labelled:
                confidence.append(score)
                answerable.append(query.answerable)
            if query.answerable:
                ranked.append(labels)
                gold.append(query.gold)
    hit1, at3 = hit_at_k(ranked, gold, 1).score, hit_at_k(ranked, gold, 3)
    metrics = Metrics(hit1 or 0.0, at3.score or 0.0, mrr(ranked, gold).score or 0.0,
                      len(ranked), answerable.count(False), hits3=at3.individual_scores)
    if any(answerable) and not all(answerable):
        best = threshold_sweep(confidence, answerable).best
        metrics = Metrics(**{**asdict(metrics), "balanced_accuracy": best.balanced_accuracy,
                             "threshold": best.threshold})
    return metrics


def verdict(before: Metrics, after: Metrics) -> tuple[bool, str]:
    """Better when hit@3 rises, or holds while MRR rises (a held-out set the base model
    already ranks in its top 3 can only improve in order), and balanced accuracy does
    not fall."""
    if after.hit_at_3 < before.hit_at_3 or (after.hit_at_3 == before.hit_at_3
                                            and after.mrr <= before.mrr):
        return False, (f"hit@3 did not improve ({before.hit_at_3:.3f} -> "
                       f"{after.hit_at_3:.3f}, MRR {before.mrr:.3f} -> {after.mrr:.3f})"
                       f"{how_sure(before, after)}")
    if (before.balanced_accuracy is not None and after.balanced_accuracy is not None
            and after.balanced_accuracy < before.balanced_accuracy):
        return False, (f"balanced accuracy fell ({before.balanced_accuracy:.3f} -> "
                       f"{after.balanced_accuracy:.3f})")
    return True, (f"hit@3 {before.hit_at_3:.3f} -> {after.hit_at_3:.3f}, MRR {before.mrr:.3f} "
                  f"-> {after.mrr:.3f}{how_sure(before, after)}")


def how_sure(before: Metrics, after: Metrics) -> str:
    """The hit@3 change on the check's questions with its paired 95% interval: a
    change whose interval includes 0 is one these few questions cannot confirm."""
    found = paired_rate_difference(np.asarray(after.hits3), np.asarray(before.hits3))
    if found is None:
        return ""
    return (f"; hit@3 change {found['difference']:+.3f} [{found['low']:+.3f}, "
            f"{found['high']:+.3f}] on {found['n']} questions (paired 95%"
            f"{'' if found['low'] > 0 or found['high'] < 0 else ', not confirmed'})")
