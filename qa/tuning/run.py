"""`policy-qa tune`: fine-tune the embedding model on privacy Q&A, check it on held-out
questions, and write it only when it is better.

Training is sentence-transformers' own (SentenceTransformerTrainer,
MultipleNegativesRankingLoss, a no-duplicates batch sampler grouped by length); it is
in `qa.tuning.train`. Unanswerable questions in a labelled source are used too: each is
paired with the passages the base model finds closest to it, and those pairs are pushed
apart (CosineSimilarityLoss towards 0), so the model learns what the policy does *not*
say as well as where it says what it does.

The check: hit@1/hit@3 (and, when unanswerable questions are labelled, the escalation
balanced accuracy at its best threshold) of dense passage retrieval on the held-out
questions, before and after; it and its gate are in `qa.tuning.check`. The model is
written only if hit@3 improves and balanced accuracy does not fall (`force` overrides),
with the manifest of `qa.tuning.manifest`. Sources are read in `qa.tuning.sources` and
split in `qa.tuning.data`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import model_id
from index.errors import ConfigError
from qa.tuning.check import encode, measure, verdict
from qa.tuning.config import TuneConfig
from qa.tuning.data import Document, Source, Split, given_eval, split_held_out
from qa.tuning.manifest import MANIFEST, build_manifest, cost_line, write_model
from qa.tuning.sources import load_sources
from qa.tuning.train import (
    LengthGroupedNoDuplicatesBatchSampler as LengthGroupedNoDuplicatesBatchSampler,
)
from qa.tuning.train import train

LICENCE_NOTE = (
    "PolicyQA (built on OPP-115) is research data: a model tuned on it is for evaluation "
    "and research. For production, tune on your own labelled questions and resolved "
    "escalations.")
Say = Callable[[str], None]


@dataclass
class TuneResult:
    written: bool
    reason: str
    manifest: dict[str, Any] = field(default_factory=dict)


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
                scores = encode(model, candidates) @ encode(model, [pair.question])[0]
                candidates = [candidates[int(np.argmax(scores))]]
            questions.append(pair.question)
            passages.append(candidates[0])
    return questions, passages


def _negatives(model: Any, docs: Sequence[Document], per_question: int
               ) -> tuple[list[str], list[str]]:
    """(questions, passages) to push apart: each unanswerable training question with the
    `per_question` passages the base model finds closest to it (the ones it would wrongly
    answer with)."""
    questions: list[str] = []
    passages: list[str] = []
    for doc in docs if per_question else ():
        unanswerable = [q.question for q in doc.queries if not q.answerable]
        if not unanswerable or not doc.passages:
            continue
        scores = encode(model, unanswerable) @ encode(model, list(doc.passages)).T
        for question, row in zip(unanswerable, scores, strict=True):
            for j in np.argsort(-row, kind="stable")[:per_question]:
                questions.append(question)
                passages.append(doc.passages[int(j)])
    return questions, passages


def _prepare(config: TuneConfig, say: Say, warn: Say,
             given: tuple[Source, Split] | None = None
             ) -> tuple[list[Source], list[Source], Split]:
    config.check()
    _check_out(config.out, config.base)
    if given is not None:  # a source that comes with its own split (`policy-qa adapt`)
        say(f"source {given[0].path}: {given[0].format}, {given[1].how}")
        return [given[0]], [], given[1]
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


def tune(config: TuneConfig, say: Say = print, warn: Say = print,
         given: tuple[Source, Split] | None = None) -> TuneResult:
    """Run `policy-qa tune` on `config.sources`, or on a source read elsewhere with its
    split (`given`: what `policy-qa adapt` derives from a policy); raises PolicyQAError
    for bad input."""
    started = time.monotonic()
    _quiet()
    sources, evaluation, split = _prepare(config, say, warn, given)
    model = _load_model(config.base)
    before = measure(model, split.held_out)
    say(f"before: {before.line()}")
    questions, passages = _positives(model, split.train)
    negatives = _negatives(model, split.train, config.negatives)
    deadline = (started + 60 * config.max_minutes) if config.max_minutes is not None else None
    run = train(model, (questions, passages), negatives, config, deadline,
                lambda: measure(model, split.held_out))
    after = run.best or measure(model, split.held_out)
    say(f"trained {len(questions)} pairs"
        + (f" and {len(negatives[0])} unanswerable pairs" if negatives[0] else "")
        + f" for {run.epochs_run:.2f} epoch(s), {run.steps} steps")
    say(f"after:  {after.line()}")
    better, reason = verdict(before, after)
    manifest = build_manifest(config, sources, evaluation, split,
                              (len(questions), len(negatives[0])), before, after,
                              run.info(started), better)
    say(cost_line(manifest))
    if not better and not config.force:
        return TuneResult(False, f"{reason}; model not written (--force writes it anyway)",
                          manifest)
    write_model(model, config.out, manifest)
    return TuneResult(True, reason + ("" if better else " (written because of --force)"),
                      manifest)


def _quiet() -> None:
    """Only our own progress bar, and only when asked for."""
    from datasets import disable_progress_bars
    from transformers.utils import logging as hf_logging

    disable_progress_bars()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
