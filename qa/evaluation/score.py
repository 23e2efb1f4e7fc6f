"""Scoring one system's answers: the metrics of `qa.evaluation.metrics` at a threshold, plus
per-question records, and the choice of each system's threshold."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from qa.evaluation.data import EvalDataError, Question
from qa.evaluation.metrics import Sweep, escalation, first_rank, hit_curve, mrr, threshold_sweep
from qa.evaluation.systems import TOP_K, SystemAnswer
from qa.settings import Settings


@dataclass
class SystemRun:
    """Every answer of one system, with its reading list per question."""

    name: str
    questions: list[Question] = field(default_factory=list)
    answers: list[SystemAnswer] = field(default_factory=list)
    reading: list[list[Hashable]] = field(default_factory=list)

    def extend(self, questions: Sequence[Question], answers: Sequence[SystemAnswer],
               reading: Sequence[list[Hashable]]) -> None:
        self.questions += questions
        self.answers += answers
        self.reading += reading


def _decisions(run: SystemRun, threshold: float | None, own: bool) -> list[bool] | None:
    if own:
        return [bool(a.resolved) for a in run.answers]
    if threshold is None:
        return None
    return [a.confidence >= threshold for a in run.answers]


def sweep_of(run: SystemRun) -> Sweep | None:
    labels = [q.answerable for q in run.questions]
    if all(labels) or not any(labels):
        return None
    return threshold_sweep([a.confidence for a in run.answers], labels)


def score_run(run: SystemRun, threshold: float | None, source: str, own: bool = False
              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, per-question records) of one system at one threshold."""
    idx = [i for i, q in enumerate(run.questions) if q.answerable]
    ranked = [run.reading[i] for i in idx]
    gold = [run.questions[i].gold for i in idx]
    curve = hit_curve(ranked, gold, range(1, TOP_K + 1))
    resolved = _decisions(run, threshold, own)
    summary: dict[str, Any] = {
        "questions": len(run.questions), "answerable": len(idx),
        "unanswerable": len(run.questions) - len(idx),
        "hit@1": curve[1], "hit@3": curve[3], "hit@5": curve[5], "mrr": mrr(ranked, gold).score,
        "hit@k": {str(k): v for k, v in curve.items()},
        "places_per_passage": _places_per_passage(run),
        "threshold": threshold, "threshold_source": source,
    }
    labels = [q.answerable for q in run.questions]
    if resolved is not None:
        summary.update(escalation([not r for r in resolved], labels).to_dict())
    else:
        summary.update(dict.fromkeys(escalation([], []).to_dict()))
    best = sweep_of(run)
    summary["best_threshold"] = round(best.best.threshold, 6) if best else None
    summary["best_balanced_accuracy"] = best.best.balanced_accuracy if best else None
    records = []
    for i, (q, a, places) in enumerate(zip(run.questions, run.answers, run.reading,
                                           strict=True)):
        records.append({
            "question": q.text, "group": q.group, "answerable": q.answerable,
            "expected": [str(g) for g in sorted(q.gold)], "got": [str(p) for p in places[:5]],
            "rank": first_rank(places, q.gold) if q.answerable else None,
            "confidence": round(a.confidence, 4),
            "resolved": None if resolved is None else resolved[i],
            "scores": [round(p.score, 4) for p in a.passages[:3]],
        })
    return summary, records


def _places_per_passage(run: SystemRun) -> float | None:
    passages = sum(len(a.passages) for a in run.answers)
    places = sum(len(r) for r in run.reading)
    return round(places / passages, 3) if passages else None


def thresholds(runs: dict[str, SystemRun], settings: Settings,
               calibration: dict[str, SystemRun] | None, calibration_name: str,
               decision: dict[str, Any] | None = None
               ) -> dict[str, tuple[float | None, str]]:
    """Each system's (threshold, where it came from). Ours, uncalibrated, decides by its
    own rule (`decision`, Service.decision): the answerability model's threshold on its
    probability, or the threshold setting on the fused score."""
    out: dict[str, tuple[float | None, str]] = {}
    for name, run in runs.items():
        if calibration is not None:
            sweep = sweep_of(calibration[name])
            if sweep is None:
                raise EvalDataError(f"{calibration_name} needs both answerable and "
                                    "unanswerable questions to calibrate a threshold")
            out[name] = (round(sweep.best.threshold, 6), f"calibrated on {calibration_name}")
        elif name == "ours" and decision and decision.get("method") == "answerability":
            out[name] = (float(decision["threshold"]), "answerability model (shipped)")
        elif name == "ours":
            out[name] = (settings.threshold, "setting")
        else:
            sweep = sweep_of(run)
            out[name] = ((round(sweep.best.threshold, 6), "best on this set (oracle)") if sweep
                         else (None, "n/a (needs unanswerable questions)"))
    return out


def failed(record: dict[str, Any]) -> bool:
    if record["answerable"]:
        return record["rank"] != 1 or record["resolved"] is False
    return bool(record["resolved"])


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report without per-question detail (what `--json` prints)."""
    out = {k: v for k, v in report.items() if k not in ("per_question", "failures")}
    out["failures"] = len(report["failures"])
    return out
