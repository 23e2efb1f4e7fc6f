"""Recognise a privacy rights request in a visitor's message, and which right it is.

A request asks the company to act now ("delete my data", "could you erase my
details?"); a question about a right or its process ("how long does deletion take?")
is not one. The decision is a small classifier (`qa.rights.model`) over the message's
sentence embedding and the rule signals of `qa.rights.features`.

    recognizer = create_recognizer(embedder)      # nothing loaded yet
    recognizer.recognize("delete my account")     # Recognition(True, 'deletion', 0.98)

The embedding model, the rules and the classifier weights load on first use (or
`warm_up()`), never at import or construction.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embed import Embedder
from index.errors import ConfigError
from qa.rights.features import RULES_FILE, Rules, load_rules, signal_matrix
from qa.rights.model import CLASSES, MODEL_FILE, Classifier, load_classifier

DEFAULT_THRESHOLD = 0.5
# "please don't delete my account" asks to keep it: a deletion verb under a negation is
# no deletion request unless another deletion verb stands free ("don't wait, delete it").
# (Negated "sell", "share", "track" stay requests: "do not sell my data" is an opt-out.)
_ERASE = r"(?:delete|remove|erase|wipe|close|cancel|deactivate|forget)"
_KEEP = re.compile(r"\b(?:don'?t|do not|never|no need to|not)\s+(?:\w+\s+){0,3}?" + _ERASE
                   + r"\w*", re.IGNORECASE)
_ERASES = re.compile(r"\b" + _ERASE + r"\b", re.IGNORECASE)


@dataclass(frozen=True)
class Recognition:
    """`score` is the probability that the message is a rights request; `kind` is the
    right asked for (one of KINDS), or None when it is not a request."""

    is_request: bool
    kind: str | None
    score: float


NOT_A_REQUEST = Recognition(is_request=False, kind=None, score=0.0)


@functools.lru_cache(maxsize=4)
def _classifier(path: Path, model_id: str, rules_sha256: str) -> Classifier:
    return load_classifier(path, model_id, rules_sha256)


class RightsRecognizer:
    """Thread-safe (read-only after loading). Build it with `create_recognizer`."""

    def __init__(self, embedder: Embedder, threshold: float, model_path: Path,
                 rules_path: Path) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.model_path = model_path
        self.rules_path = rules_path

    def _parts(self) -> tuple[Rules, Classifier]:
        rules = load_rules(self.rules_path)
        return rules, _classifier(self.model_path, self.embedder.id, rules.sha256)

    def warm_up(self) -> RightsRecognizer:
        self._parts()
        self.embedder.warm_up()
        return self

    def recognize(self, message: str) -> Recognition:
        return self.recognize_many([message])[0]

    def recognize_many(self, messages: list[str],
                       vectors: np.ndarray | None = None) -> list[Recognition]:
        """One Recognition per message, in order; blank messages are not requests.
        `vectors` are the messages' embeddings when the caller has them already (the
        service's retrieval), so nothing is embedded twice."""
        texts = [_text(m) for m in messages]
        filled = [i for i, t in enumerate(texts) if t]
        out = [NOT_A_REQUEST] * len(texts)
        if filled:
            rules, classifier = self._parts()
            batch = [texts[i] for i in filled]
            embedded = (self.embedder.encode(batch) if vectors is None
                        else np.asarray(vectors)[filled])
            probabilities = classifier.probabilities(embedded, signal_matrix(batch, rules))
            for i, row in zip(filled, probabilities, strict=True):
                out[i] = self._decide(row)
                if out[i].kind == "deletion" and keeps(texts[i]):
                    out[i] = Recognition(is_request=False, kind=None, score=out[i].score)
        return out

    def _decide(self, probabilities: np.ndarray) -> Recognition:
        score = float(1.0 - probabilities[0])
        if score < self.threshold:
            return Recognition(is_request=False, kind=None, score=score)
        kind = CLASSES[1 + int(np.argmax(probabilities[1:]))]
        return Recognition(is_request=True, kind=kind, score=score)


def keeps(text: str) -> bool:
    """Whether every deletion verb of `text` is negated ("please don't delete it")."""
    return bool(_KEEP.search(text)) and not _ERASES.search(_KEEP.sub(" ", text))


def _text(message: object) -> str:
    if not isinstance(message, str):
        raise TypeError(f"message must be a string, not {type(message).__name__}")
    return message.strip()


def create_recognizer(embedder: Embedder | None = None, *,
                      threshold: float = DEFAULT_THRESHOLD,
                      model_path: Path = MODEL_FILE,
                      rules_path: Path = RULES_FILE) -> RightsRecognizer:
    """A recognizer over `embedder` (default: the packaged all-MiniLM-L6-v2). The
    classifier must have been trained with that embedding model and these rules."""
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"threshold must be between 0 and 1. Currently, threshold is "
                          f"{threshold}")
    return RightsRecognizer(embedder or Embedder(), threshold, Path(model_path),
                            Path(rules_path))
