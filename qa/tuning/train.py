"""Training for `policy-qa tune` (see `qa.tuning.run`): sentence-transformers' own
SentenceTransformerTrainer with MultipleNegativesRankingLoss (question -> its passage,
the other passages of the batch as negatives) and a no-duplicates batch sampler, so a
passage (or a question asked of several passages) is never its own negative. When the
data labels unanswerable questions, a second dataset pairs each with its nearest
passages and CosineSimilarityLoss pulls their cosine towards 0 (the trainer mixes
batches of both in proportion to their sizes). Cost on 2
CPU cores: sequences are capped at `max_seq_length` while training (128; a PolicyQA
paragraph is 93 tokens at the median) and the sampler puts pairs of similar length
together, so little time goes on padding; about 2.3 s per batch of 32, ~100 batches
for the 3,809 PolicyQA pairs.

Also the callback that stops at `--max-minutes`, checks the held-out part after each
epoch and keeps the best weights.
"""

from __future__ import annotations

import os
import random
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from sentence_transformers import SentenceTransformerTrainer
from sentence_transformers.base.sampler import NoDuplicatesBatchSampler
from transformers import TrainerCallback

if TYPE_CHECKING:
    from qa.tuning.check import Metrics
    from qa.tuning.config import TuneConfig

GROUP_BATCHES = 16  # length grouping: sort within windows of this many batches


class LengthGroupedNoDuplicatesBatchSampler(NoDuplicatesBatchSampler):
    """NO_DUPLICATES, plus length grouping: shuffle (by seed and epoch), sort windows of
    GROUP_BATCHES batches by length, fill batches in that order deferring any pair that
    shares a text with the batch, then shuffle the batches. `len()` is the true number
    of batches (deferrals can add a few), so the trainer runs every one of them."""

    def __init__(self, dataset: Any, batch_size: int, drop_last: bool, **kwargs: Any) -> None:
        super().__init__(dataset, batch_size, drop_last, **kwargs)
        columns = [dataset[name] for name in dataset.column_names
                   if getattr(dataset.features[name], "dtype", None) == "string"]
        self.texts = [frozenset(row) for row in zip(*columns, strict=True)]
        self.lengths = [sum(len(t) for t in row) for row in zip(*columns, strict=True)]
        self._planned: tuple[int, list[list[int]]] | None = None

    def __iter__(self) -> Any:
        yield from self._plan()

    def __len__(self) -> int:
        return len(self._plan())

    def _plan(self) -> list[list[int]]:
        if self._planned is None or self._planned[0] != self.epoch:
            rng = random.Random(self.seed + self.epoch)
            order = list(range(len(self.texts)))
            rng.shuffle(order)
            window = self.batch_size * GROUP_BATCHES
            order = [i for start in range(0, len(order), window)
                     for i in sorted(order[start:start + window], key=self.lengths.__getitem__)]
            batches = list(self._fill(order))
            rng.shuffle(batches)
            self._planned = (self.epoch, batches)
        return self._planned[1]

    def _fill(self, pending: list[int]) -> Any:
        while pending:
            batch: list[int] = []
            seen: set[str] = set()
            deferred: list[int] = []
            for j, i in enumerate(pending):
                if len(batch) == self.batch_size:
                    deferred += pending[j:]
                    break
                if self.texts[i].isdisjoint(seen):
                    batch.append(i)
                    seen |= self.texts[i]
                else:
                    deferred.append(i)
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch
            pending = deferred


class _Trainer(SentenceTransformerTrainer):
    """No model card: it would copy training questions (perhaps escalations, perhaps
    personal) into the model folder's README; tune.json is the record instead."""

    def add_model_card_callback(self, default_args_dict: dict[str, Any]) -> None:
        return None


class _Watch(TrainerCallback):
    """Stops at the deadline (`--max-minutes`), measures the held-out part at the end of
    each epoch and keeps the best weights so far; draws a progress bar if asked."""

    def __init__(self, model: Any, check: Callable[[], Metrics], deadline: float | None,
                 progress: bool) -> None:
        self.model, self.check, self.deadline, self.progress = model, check, deadline, progress
        self.best: Metrics | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.stopped_early = False
        self.bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress:
            import sys

            from tqdm import tqdm

            self.bar = tqdm(total=state.max_steps, file=sys.stderr, unit="step", desc="tune")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(1)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped_early = control.should_training_stop = True

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        metrics = self.check()
        if self.best is None or (metrics.hit_at_3, metrics.hit_at_1) > (
                self.best.hit_at_3, self.best.hit_at_1):
            self.best = metrics
            last = control.should_training_stop or state.epoch >= args.num_train_epochs
            self.best_state = None if last else {
                k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)


@dataclass
class _Run:
    best: Metrics | None
    stopped_early: bool
    steps: int
    epochs_run: float
    train_seconds: float
    train_cpu_seconds: float

    def info(self, started: float) -> dict[str, Any]:
        """What the run cost. CPU seconds do not depend on what else the machine runs;
        the load average says how shared it was."""
        return {"steps": self.steps, "epochs_run": round(self.epochs_run, 3),
                "stopped_early": self.stopped_early,
                "seconds": {"train": round(self.train_seconds, 1),
                            "train_cpu": round(self.train_cpu_seconds, 1),
                            "total": round(time.monotonic() - started, 1)},
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "cpu_cores": os.cpu_count()}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


Texts = tuple[list[str], list[str]]  # (questions, passages), position by position


def train(model: Any, positives: Texts, negatives: Texts, config: TuneConfig,
          deadline: float | None, check: Callable[[], Metrics]) -> _Run:
    """One SentenceTransformerTrainer run; sequences are capped while training only
    (the saved model keeps the base model's max_seq_length)."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    full_length = model.max_seq_length
    watch = _Watch(model, lambda: _checked(model, check, full_length), deadline,
                   config.progress)
    model.max_seq_length = min(config.max_seq_length, full_length)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    started, cpu = time.monotonic(), cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="policy-qa-tune-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=config.epochs,
            per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
            warmup_steps=0.1, seed=config.seed, data_seed=config.seed, use_cpu=True,
            batch_sampler=LengthGroupedNoDuplicatesBatchSampler, save_strategy="no",
            eval_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            dataloader_num_workers=0)
        datasets, losses = _datasets(model, positives, negatives)
        trainer = _Trainer(model=model, args=args, loss=losses, train_dataset=datasets,
                           callbacks=[watch])
        for noisy in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(noisy)
        try:
            trainer.train()
        finally:
            torch.set_num_threads(threads)
            model.max_seq_length = full_length
    return _Run(watch.best, watch.stopped_early, trainer.state.global_step,
                float(trainer.state.epoch or 0), time.monotonic() - started, cpu_seconds() - cpu)


def _datasets(model: Any, positives: Texts, negatives: Texts) -> tuple[Any, Any]:
    """The answerable pairs with their loss, and the unanswerable pairs with theirs when
    there are any (then as dicts, which the trainer takes for multi-dataset training)."""
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.losses import (
        CosineSimilarityLoss,
        MultipleNegativesRankingLoss,
    )

    answerable = Dataset.from_dict({"anchor": positives[0], "positive": positives[1]})
    if not negatives[0]:
        return answerable, MultipleNegativesRankingLoss(model)
    unanswerable = Dataset.from_dict({"question": negatives[0], "passage": negatives[1],
                                      "label": [0.0] * len(negatives[0])})
    return ({"answerable": answerable, "unanswerable": unanswerable},
            {"answerable": MultipleNegativesRankingLoss(model),
             "unanswerable": CosineSimilarityLoss(model)})


def _checked(model: Any, check: Callable[[], Metrics], length: int) -> Metrics:
    """Measure at the length the product will embed with, then go back to training."""
    training = model.max_seq_length
    model.max_seq_length = length
    try:
        return check()
    finally:
        model.max_seq_length = training
