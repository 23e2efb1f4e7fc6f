"""Fit the rights classifier and write `data/model.npz`: the one place it is written.

After editing `data/rules.toml` (from the repository root):

    python -c "from qa.rights.train import retrain; retrain()"

It fits on tests/data/rights-train.jsonl plus data/extra-train.jsonl (messages written
for this package: requests in more wordings, and non-requests that use a right's verbs
on an order, a web page or a question) with `TrainConfig`'s defaults, which were chosen
by 5-fold cross-validation on rights-train (extra rows always on the training side).
tests/data/rights-test.jsonl is held out: it is never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from index.embed import Embedder
from qa.rights.evaluate import label, load_rows
from qa.rights.features import RULES_FILE, load_rules, signal_matrix
from qa.rights.model import MODEL_FILE, NONE, Classifier, TrainConfig, save_classifier, train

ROOT = Path(__file__).resolve().parents[2]
EXTRA_FILE = Path(__file__).parent / "data" / "extra-train.jsonl"
TRAIN_FILES = (ROOT / "tests" / "data" / "rights-train.jsonl", EXTRA_FILE)


def fit_rows(rows: Sequence[dict], embedder: Embedder, config: TrainConfig | None = None,
             rules_path: Path = RULES_FILE) -> Classifier:
    messages = [r["message"] for r in rows]
    rules = load_rules(rules_path)
    kinds = [None if (k := label(r)) == NONE else k for r in rows]
    return train(embedder.encode(messages), signal_matrix(messages, rules), kinds,
                 config or TrainConfig(), embedder.id, rules.sha256)


def retrain(files: Sequence[Path] = TRAIN_FILES, out: Path = MODEL_FILE,
            embedder: Embedder | None = None) -> Classifier:
    rows = [row for path in files for row in load_rows(path)]
    classifier = fit_rows(rows, embedder or Embedder())
    save_classifier(classifier, out)
    return classifier
