"""`policy-qa tune`: fine-tune the embedding model on privacy Q&A, check it on held-out
questions, and write it only when it is better.

Training is sentence-transformers' own (SentenceTransformerTrainer,
MultipleNegativesRankingLoss, a no-duplicates batch sampler grouped by length); it is
in `qa.tune_train`.

The check: hit@1/hit@3 (and, when unanswerable questions are labelled, the escalation
balanced accuracy at its best threshold) of dense passage retrieval on the held-out
questions, before and after, with the metric functions of `qa.evaluate`. The model is
written only if hit@3 improves and balanced accuracy does not fall (`force` overrides).
Sources are read and split in `qa.tune_data`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import PACKAGED_NAMES, model_id
from index.errors import ConfigError
from qa.evaluate import hit_at_k, mrr, threshold_sweep
from qa.tune_data import Document, Source, Split, given_eval, load_sources, split_held_out
from qa.tune_train import (
    LengthGroupedNoDuplicatesBatchSampler as LengthGroupedNoDuplicatesBatchSampler,
)
from qa.tune_train import train

MANIFEST = "tune.json"
LICENCE_NOTE = (
    "PolicyQA (built on OPP-115) is research data: a model tuned on it is for evaluation "
    "and research. For production, tune on your own labelled questions and resolved "
    "escalations.")
Say = Callable[[str], None]


@dataclass(frozen=True)
class TuneConfig:
    sources: tuple[str, ...]
    out: Path
    base: str = PACKAGED_NAMES[0]
    epochs: int = 1
    max_seq_length: int = 128
    seed: int = 42
    batch_size: int = 32
    learning_rate: float = 5e-5
    eval_sources: tuple[str, ...] = ()
    policy: Path | None = None
    max_minutes: float | None = None
    force: bool = False
    threads: int = 2
    progress: bool = False

    def check(self) -> None:
        for name, value, low in (("epochs", self.epochs, 1), ("batch_size", self.batch_size, 2),
                                 ("max_seq_length", self.max_seq_length, 16),
                                 ("threads", self.threads, 1)):
            if value < low:
                raise ConfigError(f"{name} must be at least {low}. Currently, {name} is {value}")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be between 0 and 1. Currently, "
                              f"learning_rate is {self.learning_rate}")
        if self.max_minutes is not None and self.max_minutes < 0:
            raise ConfigError(f"max_minutes must not be negative. Currently, max_minutes is "
                              f"{self.max_minutes}")


@dataclass(frozen=True)
class Metrics:
    hit_at_1: float
    hit_at_3: float
    mrr: float
    questions: int  # answerable held-out questions
    unanswerable: int = 0
    balanced_accuracy: float | None = None  # at its best threshold
    threshold: float | None = None

    def line(self) -> str:
        text = (f"hit@1 {self.hit_at_1:.3f}  hit@3 {self.hit_at_3:.3f}  MRR {self.mrr:.3f} "
                f"({self.questions} questions)")
        if self.balanced_accuracy is not None:
            text += (f"  balanced accuracy {self.balanced_accuracy:.3f} at threshold "
                     f"{self.threshold:.3f} ({self.unanswerable} unanswerable)")
        return text


@dataclass
class TuneResult:
    written: bool
    reason: str
    manifest: dict[str, Any] = field(default_factory=dict)


# --- evaluation ------------------------------------------------------------------------

def _encode(model: Any, texts: Sequence[str]) -> np.ndarray:
    return model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)


def _rank(doc: Document, model: Any) -> tuple[list[list[str]], list[float]]:
    """Per query: distinct passage labels best first, and the best cosine."""
    scores = _encode(model, [q.question for q in doc.queries]) @ _encode(model, doc.passages).T
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
    hit1, hit3 = hit_at_k(ranked, gold, 1).score, hit_at_k(ranked, gold, 3).score
    metrics = Metrics(hit1 or 0.0, hit3 or 0.0, mrr(ranked, gold).score or 0.0, len(ranked),
                      answerable.count(False))
    if any(answerable) and not all(answerable):
        best = threshold_sweep(confidence, answerable).best
        metrics = Metrics(**{**asdict(metrics), "balanced_accuracy": best.balanced_accuracy,
                             "threshold": best.threshold})
    return metrics


def verdict(before: Metrics, after: Metrics) -> tuple[bool, str]:
    if after.hit_at_3 <= before.hit_at_3:
        return False, f"hit@3 did not improve ({before.hit_at_3:.3f} -> {after.hit_at_3:.3f})"
    if (before.balanced_accuracy is not None and after.balanced_accuracy is not None
            and after.balanced_accuracy < before.balanced_accuracy):
        return False, (f"balanced accuracy fell ({before.balanced_accuracy:.3f} -> "
                       f"{after.balanced_accuracy:.3f})")
    return True, f"hit@3 improved ({before.hit_at_3:.3f} -> {after.hit_at_3:.3f})"


# --- the run ------------------------------------------------------------------------------

def _load_model(base: str) -> Any:
    """A fresh, uncached copy (training changes it in place)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from index.embed import _model_path

    path = _model_path(base)
    try:
        return SentenceTransformer(path, device="cpu")
    except (OSError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot load model {base!r}: {detail[:200]}") from None


def _check_out(out: Path, base: str) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ConfigError(f"--out {out} holds files but no {MANIFEST}; choose an empty or "
                          "new folder (tune replaces only a model it wrote)")
    if model_id(str(out)) == model_id(base):
        raise ConfigError(f"--out {out} is the base model's own folder; choose another")


def _positives(model: Any, docs: Sequence[Document]) -> tuple[list[str], list[str]]:
    """(questions, passages) to train on; where a question accepts several passages
    (the chunks of a section), the one the base model finds closest."""
    questions, passages = [], []
    for doc in docs:
        for pair in doc.pairs:
            candidates = doc.candidates(pair)
            if len(candidates) > 1:
                scores = _encode(model, candidates) @ _encode(model, [pair.question])[0]
                candidates = [candidates[int(np.argmax(scores))]]
            questions.append(pair.question)
            passages.append(candidates[0])
    return questions, passages


def _prepare(config: TuneConfig, say: Say, warn: Say) -> tuple[list[Source], list[Source], Split]:
    config.check()
    _check_out(config.out, config.base)
    sources = load_sources(config.sources, config.policy)
    evaluation = load_sources(config.eval_sources, config.policy) if config.eval_sources else []
    for kind, source in [("source", s) for s in sources] + [("check on", s) for s in evaluation]:
        d = source.describe()
        say(f"{kind} {d['path']}: {d['format']}, {d['documents']} document(s), {d['pairs']} "
            f"pairs, {d['questions']} questions"
            + (f", policy {d['policy']['path']}" if "policy" in d else ""))
    if any(s.format == "policyqa" for s in sources + evaluation):
        warn(f"note: {LICENCE_NOTE}")
    split = (given_eval(sources, evaluation) if evaluation
             else split_held_out(sources, config.seed))
    if not any(d.pairs for d in split.train):
        raise ConfigError("no training pairs left (only unanswerable questions?)")
    if not any(q.answerable for d in split.held_out for q in d.queries):
        raise ConfigError("no answerable held-out question to check the model on; "
                          "add sources or pass --eval SOURCE")
    say(f"split: {split.how}")
    return sources, evaluation, split


def tune(config: TuneConfig, say: Say = print, warn: Say = print) -> TuneResult:
    """Run `policy-qa tune`; raises PolicyQAError for bad input."""
    started = time.monotonic()
    _quiet()
    sources, evaluation, split = _prepare(config, say, warn)
    model = _load_model(config.base)
    before = measure(model, split.held_out)
    say(f"before: {before.line()}")
    questions, passages = _positives(model, split.train)
    deadline = (started + 60 * config.max_minutes) if config.max_minutes is not None else None
    run = train(model, questions, passages, config, deadline,
                lambda: measure(model, split.held_out))
    after = run.best or measure(model, split.held_out)
    say(f"trained {len(questions)} pairs for {run.epochs_run:.2f} epoch(s), {run.steps} steps")
    say(f"after:  {after.line()}")
    better, reason = verdict(before, after)
    manifest = _manifest(config, sources, evaluation, split, len(questions), before, after,
                         run.info(started), better)
    say(_cost_line(manifest))
    if not better and not config.force:
        return TuneResult(False, f"{reason}; model not written (--force writes it anyway)",
                          manifest)
    _write(model, config.out, manifest)
    return TuneResult(True, reason + ("" if better else " (written because of --force)"),
                      manifest)


def _quiet() -> None:
    """Only our own progress bar, and only when asked for."""
    from datasets import disable_progress_bars
    from transformers.utils import logging as hf_logging

    disable_progress_bars()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _cost_line(manifest: dict[str, Any]) -> str:
    seconds = manifest["seconds"]
    return (f"time {_duration(seconds['total'])} (training {_duration(seconds['train'])}, "
            f"{_duration(seconds['train_cpu'])} CPU"
            + (", stopped early by --max-minutes" if manifest["stopped_early"] else "")
            + f"), peak memory {manifest['peak_rss_bytes'] / 2**30:.2f} GB, load average "
            f"{manifest['load_average'][0]:.1f} on {manifest['cpu_cores']} cores")


def _duration(seconds: float) -> str:
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _manifest(config: TuneConfig, sources: Sequence[Source], evaluation: Sequence[Source],
              split: Split, pairs: int, before: Metrics, after: Metrics,
              run: dict[str, Any], better: bool) -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for package in ("sentence-transformers", "transformers", "torch", "policy-qa"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    held = split.held_out
    return {
        "format": 1,
        "base_model": model_id(config.base),
        "sources": [s.describe() for s in sources],
        "eval_sources": [s.describe() for s in evaluation],
        "held_out": {"how": split.how, "documents": list(split.held_out_documents)},
        "sizes": {"train_pairs": pairs,
                  "train_documents": sum(1 for d in split.train if d.pairs),
                  "held_out_questions": sum(len(d.queries) for d in held),
                  "held_out_passages": sum(len(d.passages) for d in held)},
        "epochs": config.epochs, "seed": config.seed, "max_seq_length": config.max_seq_length,
        "batch_size": config.batch_size, "learning_rate": config.learning_rate,
        "threads": config.threads, "max_minutes": config.max_minutes,
        "loss": "MultipleNegativesRankingLoss",
        "batch_sampler": "no duplicates, grouped by length",
        **run,
        "peak_rss_bytes": peak_rss_bytes(),
        "before": asdict(before), "after": asdict(after),
        "passed_check": better, "forced": config.force and not better,
        "versions": versions,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _write(model: Any, out: Path, manifest: dict[str, Any]) -> None:
    """Save into a sibling temp folder, then rename it over `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    old = out.with_name(f".{out.name}.old")
    try:
        model.save(str(tmp), create_model_card=False)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for path in [tmp, *tmp.rglob("*")]:  # mkdtemp makes 0700; a server may run as another user
            path.chmod(0o755 if path.is_dir() else 0o644)
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
