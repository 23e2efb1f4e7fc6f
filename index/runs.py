"""How an exported encoder (ONNX Runtime, OpenVINO) turns texts into vectors: the texts
are tokenized once, split into model runs (`partition`: the cheapest split of the texts,
sorted by token count, into runs of neighbours), each run padded as the tokenizer pads,
and the model's last hidden states mean-pooled and L2-normalised, as the model's own
Pooling and Normalize modules do (`PaddedRunner`; an engine supplies `_hidden`).

Each run pads its texts to its longest one, and on this CPU a run's time is roughly a
fixed cost (the model's 90 MB of weights stream from memory whatever the batch) plus a
cost per padded token. One run for everything pads short questions to the longest;
one run per length wastes the fixed cost. The optimum is an exact dynamic programme
over the sorted lengths: O(texts × batch) steps, a few microseconds for a request's
batch and about 0.2 s for the 22,000 units of a 100-policy index, next to minutes of
embedding them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.errors import ConfigError

# A run's fixed cost in padded tokens: `scripts/run_costs.py` fits a run's time as a
# fixed part plus a part per padded token; three runs here gave ratios of 18, 22 and 36
# (a fixed 1.7-3.2 ms, about 0.09 ms a token). The optimum moves little across that span.
RUN_COST_TOKENS = 24
# texts an exported encoder must embed as torch does before it is used
PROBES = ["Do you sell my data?", "How long do you keep the e-mail messages I send you?",
          "HIPAA"]


def partition(lengths: Sequence[int], most: int,
              run_cost: int = RUN_COST_TOKENS) -> list[tuple[int, int]]:
    """[start, end) runs over `lengths` (sorted ascending) of at most `most` texts each,
    minimising Σ (run_cost + texts × longest)."""
    if any(b < a for a, b in zip(lengths, lengths[1:], strict=False)):
        raise ValueError("lengths must be sorted ascending")
    if most < 1:
        raise ValueError("a run holds at least one text")
    n = len(lengths)
    best = [0] + [0] * n
    start = [0] * (n + 1)
    for end in range(1, n + 1):
        width = lengths[end - 1]  # the longest of any run ending here
        best[end], start[end] = min(
            (best[s] + run_cost + (end - s) * width, s)
            for s in range(max(0, end - most), end))
    runs: list[tuple[int, int]] = []
    end = n
    while end > 0:
        runs.append((start[end], end))
        end = start[end]
    return runs[::-1]


@dataclass(frozen=True)
class TextTokens:
    """One text's tokens as the model read them: ids and L2-normalised vectors (float32),
    special tokens ([CLS], [SEP]) left out."""

    ids: np.ndarray
    vectors: np.ndarray


def token_vectors(ids: Sequence[int], hidden: np.ndarray, special: frozenset[int]
                  ) -> TextTokens:
    """A text's TextTokens from its ids and last hidden states (one row per id)."""
    keep = [t for t, i in enumerate(ids) if int(i) not in special]
    rows = np.asarray(hidden[keep], dtype=np.float32)
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return TextTokens(np.asarray([ids[t] for t in keep], dtype=np.int64), rows)


class PaddedRunner:
    """Texts -> L2-normalised mean-pooled vectors; subclasses run the transformer.
    Thread-safe: the tokenizer (a fast tokenizer may not be called from two threads at
    once) is locked, the runs are not."""

    lanes = 1  # runs taken at once, one core each (index/lanes.py)

    def __init__(self, tokenizer: Any, max_length: int, inputs: set[str]) -> None:
        if getattr(tokenizer, "padding_side", "right") != "right":
            raise ConfigError("the exported encoders pad on the right, as BERT-style models "
                              "do; use POLICY_QA_ENCODER=torch for this model")
        self.tokenizer, self.max_length = tokenizer, max_length
        self._inputs = inputs
        self.special = frozenset(getattr(tokenizer, "all_special_ids", ()) or ())
        self._pad_id = int(getattr(tokenizer, "pad_token_id", 0) or 0)
        self._tokenizing = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Runs of similar length (`partition`), so a question and the single words the
        decision needs are not padded to one length: the model's cost follows the padded
        tokens. The texts are tokenized once; each run is padded here, as the tokenizer
        pads (on the right, with the pad id, mask 0, token type 0)."""
        return self.encode_tokens(texts, batch_size, tokens=False)[0]

    def encode_tokens(self, texts: list[str], batch_size: int = 64, *, tokens: bool = True
                      ) -> tuple[np.ndarray, list[TextTokens]]:
        """`encode`, and (with `tokens`) each text's token vectors from the same model
        run (`token_vectors`)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32), []
        with self._tokenizing:
            ids = self.tokenizer(texts, truncation=True, max_length=self.max_length,
                                 return_attention_mask=False,
                                 return_token_type_ids=False)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        runs = partition([len(ids[i]) for i in order], batch_size)
        pooled, found = [], []
        for a, b in runs:
            rows = [ids[i] for i in order[a:b]]
            vectors, hidden = self._batch(rows)
            pooled.append(vectors)
            if tokens:
                found += [token_vectors(row, hidden[r, :len(row)], self.special)
                          for r, row in enumerate(rows)]
        stacked = np.concatenate(pooled)
        out = np.empty_like(stacked)
        out[order] = stacked
        if not tokens:
            return out, []
        by_text: list[TextTokens] = [None] * len(texts)  # type: ignore[list-item]
        for i, item in zip(order, found, strict=True):
            by_text[i] = item
        return out, by_text

    def _batch(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(map(len, rows))
        input_ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, row in enumerate(rows):
            input_ids[r, :len(row)] = row
            mask[r, :len(row)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask,
                "token_type_ids": np.zeros_like(input_ids)}
        hidden = self._hidden({k: v for k, v in feed.items() if k in self._inputs})
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32), hidden

    def _hidden(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The transformer's last hidden states (texts x tokens x dimension)."""
        raise NotImplementedError


def diff_from_torch(runner: PaddedRunner, st: Any, texts: list[str] = PROBES) -> float:
    """Largest difference between `runner`'s vectors of `texts` and the torch model's
    (`st`, a SentenceTransformer): how each exported encoder is checked."""
    reference = st.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                          show_progress_bar=False)
    return float(np.abs(runner.encode(texts) - reference).max())


def model_threads() -> int:
    """Threads for an exported encoder: as many as torch would use."""
    import torch

    return max(1, torch.get_num_threads())
