"""The evaluation runner: ask a labelled set of every system, score the answers with
the pure metrics of `qa.evaluation.metrics`, and write report.json, report.md and plots.

Korero-style sets are scored by section anchor; PolicyQA by location (each quoted
passage is located in the paragraphs it shares 6-word runs with).

Thresholds: ours answers at its configured threshold (the product as shipped); a
baseline has none, so it gets the one that maximises balanced accuracy on this very
set (an oracle, in its favour) unless `--calibrate-on FILE` is given, in which case
every system's threshold is calibrated on FILE and applied here. Every system's
oracle threshold is reported too, so all can be compared at their best.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from index.documents import load_documents, resolve
from index.embed import Embedder
from index.errors import PolicyQAError
from index.policy import load_policy, parse_policy
from index.store import PolicyIndex, build_documents, build_index, load_index
from qa.evaluation.data import (
    EvalDataError,
    PolicyDoc,
    Question,
    for_documents,
    load_policyqa,
    load_questions,
)
from qa.evaluation.metrics import Alternatives, locate, reading_list
from qa.evaluation.score import SystemRun, failed, score_run, sweep_of, thresholds
from qa.evaluation.systems import (
    TOP_K,
    BM25System,
    OursSystem,
    System,
    SystemAnswer,
    TutorialSystem,
    place,
)
from qa.evaluation.uncertainty import differences, intervals
from qa.service import Service
from qa.settings import Settings, create_embedder

FORMATS = ("jsonl", "policyqa")
BATCH = 32
Progress = Callable[[int], None]


@dataclass(frozen=True)
class EvalOptions:
    questions: Path
    format: str = "jsonl"
    index: Path | None = None
    policy: Path | Sequence[Path] | None = None  # one policy file, or several documents
    compare: bool = False
    calibrate: bool = False
    calibrate_on: Path | None = None
    out: Path | None = None
    limit: int | None = None
    progress: bool = False
    labels_for: str = ""  # the document bare label anchors belong to (several documents)

    @property
    def name(self) -> str:
        return self.questions.stem

    @property
    def out_dir(self) -> Path:
        return self.out or Path("reports") / f"eval-{self.name}"


# --- asking ------------------------------------------------------------------------

def _ask(system: System, questions: Sequence[Question], progress: Progress
         ) -> list[SystemAnswer]:
    answers: list[SystemAnswer] = []
    for i in range(0, len(questions), BATCH):
        batch = [q.text for q in questions[i : i + BATCH]]
        answers += system.answer_many(batch)
        progress(len(batch))
    return answers


def make_systems(index: PolicyIndex, embedder: Embedder, settings: Settings,
                 compare: bool) -> list[System]:
    service = Service(settings.replace(cache_size=0), index=index, embedder=embedder,
                      ranked=TOP_K)
    systems: list[System] = [OursSystem(service)]
    if compare:
        systems += [BM25System(index), TutorialSystem.build(index, embedder)]
    return systems


def run_questions(questions: Sequence[Question], systems: Sequence[System],
                  progress: Progress) -> dict[str, SystemRun]:
    runs = {}
    for system in systems:
        answers = _ask(system, questions, progress)
        reading = [reading_list(a.places) for a in answers]
        runs[system.name] = SystemRun(system.name)
        runs[system.name].extend(questions, answers, reading)
    return runs


def run_policyqa(docs: Sequence[PolicyDoc], embedder: Embedder, settings: Settings,
                 compare: bool, progress: Progress) -> dict[str, SystemRun]:
    runs: dict[str, SystemRun] = {}
    for doc in docs:
        index = build_index(parse_policy(doc.text, name=doc.title), embedder)
        for system in make_systems(index, embedder, settings, compare):
            answers = _ask(system, doc.questions, progress)
            reading = [reading_list(locate(p.quote, doc.paragraphs) for p in a.passages)
                       for a in answers]
            runs.setdefault(system.name, SystemRun(system.name)).extend(
                doc.questions, answers, reading)
    return runs


# --- the whole run ------------------------------------------------------------------

def _index_for(options: EvalOptions, settings: Settings, embedder: Embedder) -> PolicyIndex:
    if options.index and options.policy:
        raise PolicyQAError("give either --index DIR or --policy FILE, not both")
    if isinstance(options.policy, (str, Path)):
        return build_index(load_policy(options.policy), embedder, base_url=settings.base_url)
    if options.policy:
        specs = resolve([str(p) for p in options.policy])
        docs = load_documents(specs, base_url=settings.base_url if len(specs) == 1 else "")
        return build_documents(docs, embedder, base_url=settings.base_url, inbox=settings.inbox)
    return load_index(options.index or settings.index, model=embedder.id)


def _check(options: EvalOptions) -> None:
    if options.format not in FORMATS:
        raise PolicyQAError(f"unknown format {options.format!r}; use one of {', '.join(FORMATS)}")
    if options.limit is not None and options.limit < 1:
        raise PolicyQAError(f"--limit must be at least 1. Currently, --limit is {options.limit}")
    if options.format == "policyqa" and (options.index or options.policy or options.calibrate_on
                                         or options.calibrate):
        raise PolicyQAError("--format policyqa builds its own indexes and has no unanswerable "
                            "questions; drop --index, --policy, --calibrate and --calibrate-on")


def _collect(options: EvalOptions, settings: Settings, embedder: Embedder,
             progress_factory: Callable[[int], Any] | None
             ) -> tuple[dict[str, SystemRun], dict[str, SystemRun] | None, dict | None]:
    """Ask every question of every system: (runs, runs on the calibration set, how
    ours decides resolved/unresolved)."""
    n_systems = 3 if options.compare else 1
    if options.format == "policyqa":
        docs = load_policyqa(options.questions, options.limit)
        total, questions, extra = sum(len(d.questions) for d in docs) * n_systems, [], []
    else:
        questions = load_questions(options.questions, options.limit)
        extra = load_questions(options.calibrate_on) if options.calibrate_on else []
        total = (len(questions) + len(extra)) * n_systems
        labels = {q.answerable for q in questions}
        if options.calibrate and len(labels) < 2:
            raise EvalDataError(f"{options.questions} needs both answerable and unanswerable "
                                "questions to calibrate a threshold")
    bar = progress_factory(total) if progress_factory else None
    tick = bar.update if bar is not None else (lambda n: None)
    try:
        if options.format == "policyqa":
            return run_policyqa(docs, embedder, settings, options.compare, tick), None, None
        index = _index_for(options, settings, embedder)
        ids = [d.id for d in index.documents]
        questions = known_places(for_documents(questions, ids, options.labels_for), index)
        extra = known_places(for_documents(extra, ids, options.labels_for), index)
        systems = make_systems(index, embedder, settings, options.compare)
        runs = run_questions(questions, systems, tick)
        decision = systems[0].service.decision if isinstance(systems[0], OursSystem) else None
        return runs, (run_questions(extra, systems, tick) if extra else None), decision
    finally:
        if bar is not None:
            bar.close()


def known_places(questions: list[Question], index: PolicyIndex) -> list[Question]:
    """`questions`, or EvalDataError when a label names no place of the index (a typo
    in an anchor would count every answer to it as wrong, silently): the first few such
    labels, each with the index's nearest anchors."""
    known: set[str] = set()
    for chunk in index.chunks:
        found = place(index, chunk)
        known.update(map(str, found if isinstance(found, Alternatives) else [found]))
    unknown = sorted({label for q in questions for label in q.gold if label not in known})
    if unknown:
        hints = "; ".join(f"{label!r} (nearest: "
                          f"{', '.join(get_close_matches(label, known, 2, 0.5)) or 'none'})"
                          for label in unknown[:3])
        raise EvalDataError(f"{len(unknown)} label(s) name no section of the index: {hints}")
    return questions


def evaluate(options: EvalOptions, settings: Settings, embedder: Embedder | None = None,
             progress_factory: Callable[[int], Any] | None = None) -> dict[str, Any]:
    """Run the evaluation and write its report files; returns the full report."""
    from qa.evaluation.report import write_report

    _check(options)
    embedder = embedder or create_embedder(settings)
    runs, calibration, decision = _collect(options, settings, embedder, progress_factory)
    chosen = thresholds(runs, settings, calibration, str(options.calibrate_on), decision)
    report: dict[str, Any] = {"name": options.name, "dataset": str(options.questions),
                              "format": options.format, "model": embedder.id,
                              "decision": decision}
    systems_out, per_question = {}, {}
    for name, run in runs.items():
        threshold, source = chosen[name]
        own = name == "ours" and calibration is None
        systems_out[name], per_question[name] = score_run(run, threshold, source, own)
        systems_out[name]["intervals"] = intervals(per_question[name])
    report.update({k: v for k, v in systems_out["ours"].items()})
    report["systems"] = systems_out
    report["differences"] = {name: differences(per_question["ours"], records)
                             for name, records in per_question.items() if name != "ours"}
    if options.calibrate:
        report["calibration"] = {name: s.to_dict() for name, run in runs.items()
                                 if (s := sweep_of(run)) is not None}
    report["failures"] = [r for r in per_question["ours"] if failed(r)]
    report["per_question"] = per_question
    report["files"] = write_report(report, options.out_dir)
    return report
