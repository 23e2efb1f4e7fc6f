"""The classifier: multinomial logistic regression in numpy over one message's
sentence embedding and its rule signals (`qa.rights.features`), with one class per
right plus "none" (not a rights request).

Weights are saved as `data/model.npz` with the embedding model id and the SHA-256 of
the rules file they were trained on; `load_classifier` refuses a mismatch and names
both values. `qa.rights.train` fits and writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import ConfigError
from qa.rights.features import KINDS

NONE = "none"
CLASSES = (NONE, *KINDS)
MODEL_FILE = Path(__file__).parent / "data" / "model.npz"


@dataclass(frozen=True)
class TrainConfig:
    l2: float = 0.01  # penalty on the weights (not the biases), per example
    signal_weight: float = 2.0  # scale of the rule signals against the unit embedding
    iterations: int = 1500


@dataclass(frozen=True)
class Head:
    """One logistic regression: (features, outputs) weights and (outputs,) biases."""

    weights: np.ndarray
    bias: np.ndarray

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return _softmax(x @ self.weights + self.bias)


@dataclass(frozen=True)
class Classifier:
    """Two heads over the same inputs: is it a request (classes: no, yes), and, for
    requests, which right (classes: KINDS)."""

    request: Head
    kind: Head
    signal_weight: float
    model_id: str
    rules_sha256: str

    def probabilities(self, embeddings: np.ndarray, signals: np.ndarray) -> np.ndarray:
        """(n, len(CLASSES)): P(not a request), then P(request) * P(kind | request)."""
        x = inputs(embeddings, signals, self.signal_weight)
        request = self.request.probabilities(x)
        return np.hstack([request[:, :1], request[:, 1:] * self.kind.probabilities(x)])


def inputs(embeddings: np.ndarray, signals: np.ndarray, signal_weight: float) -> np.ndarray:
    return np.hstack([embeddings, signal_weight * signals]).astype(np.float64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def fit(x: np.ndarray, labels: np.ndarray, classes: int, config: TrainConfig) -> Head:
    """The head minimising mean cross-entropy + l2/2 * |W|^2, by Nesterov-accelerated
    gradient descent with the step 1/L of the loss's smoothness bound."""
    n, d = x.shape
    targets = np.eye(classes)[labels]
    xb = np.hstack([x, np.ones((n, 1))])
    step = 1.0 / (0.5 * np.linalg.norm(xb, 2) ** 2 / n + config.l2)
    params = np.zeros((d + 1, classes))
    previous = params.copy()
    for t in range(1, config.iterations + 1):
        look = params + (t - 1) / (t + 2) * (params - previous)
        grad = xb.T @ (_softmax(xb @ look) - targets) / n
        grad[:-1] += config.l2 * look[:-1]
        previous, params = params, look - step * grad
    return Head(params[:-1], params[-1])


def train(embeddings: np.ndarray, signals: np.ndarray, kinds: list[str | None],
          config: TrainConfig, model_id: str, rules_sha256: str) -> Classifier:
    """`kinds` holds one label per row: a right from KINDS, or None (not a request)."""
    x = inputs(embeddings, signals, config.signal_weight)
    is_request = np.array([k is not None for k in kinds])
    kind_labels = np.array([KINDS.index(k) for k in kinds if k is not None])
    return Classifier(fit(x, is_request.astype(int), 2, config),
                      fit(x[is_request], kind_labels, len(KINDS), config),
                      config.signal_weight, model_id, rules_sha256)


def save_classifier(classifier: Classifier, path: Path = MODEL_FILE) -> None:
    meta = {"classes": CLASSES, "model_id": classifier.model_id,
            "rules_sha256": classifier.rules_sha256,
            "signal_weight": classifier.signal_weight}
    arrays = {f"{name}_{part}": getattr(getattr(classifier, name), part).astype(np.float32)
              for name in ("request", "kind") for part in ("weights", "bias")}
    np.savez(path, **arrays, meta=np.array(json.dumps(meta)))


def load_classifier(path: Path, model_id: str, rules_sha256: str) -> Classifier:
    try:
        with np.load(path, allow_pickle=False) as saved:
            heads = {name: Head(saved[f"{name}_weights"].astype(np.float64),
                                saved[f"{name}_bias"].astype(np.float64))
                     for name in ("request", "kind")}
            meta = json.loads(str(saved["meta"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"cannot read rights classifier {path}: {exc}") from None
    for key, expected in (("model_id", model_id), ("rules_sha256", rules_sha256),
                          ("classes", list(CLASSES))):
        if meta.get(key) != expected:
            raise ConfigError(f"rights classifier {path} was trained with {key} "
                             f"{meta.get(key)!r}, but this recognizer uses {expected!r}; "
                             "retrain it (see qa.rights.model)")
    return Classifier(heads["request"], heads["kind"], float(meta["signal_weight"]),
                      model_id, rules_sha256)
