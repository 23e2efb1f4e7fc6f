"""Shared fixtures: the real packaged model, loaded once per session, and small real
indexes built in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# the ONNX export the default encoder ("auto") makes once; shared by the suite's
# processes and runs (keyed by model, backend and library versions)
os.environ.setdefault("POLICY_QA_MODEL_CACHE", os.path.join(
    __import__("tempfile").gettempdir(), "policy-qa-test-models"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from index.embed import Embedder  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.runs import TextTokens  # noqa: E402
from index.store import PolicyIndex, build_index, load_index, save_index  # noqa: E402
from qa.service import Service  # noqa: E402
from qa.settings import BUNDLED_POLICY, Settings  # noqa: E402

DATA = Path(__file__).parent / "data"


class SessionEmbedder(Embedder):
    """The packaged model, run once per distinct text in a session: the suite builds the
    same few policies and asks the same questions in many tests, and a text's vector
    does not depend on what else is in its batch (to float rounding), so each text goes
    through the real model the first time and is remembered after that (read-only; a
    call gets a new matrix of the remembered rows). One vector per text, so `encode` and
    `encode_tokens` agree to the bit, as they do on one batch (the decision compares them)."""

    def __init__(self) -> None:
        super().__init__()
        self._vectors: dict[str, np.ndarray] = {}  # one per text, whichever call ran it
        self._tokens: dict[str, TextTokens] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, super().encode(missing), strict=True):
                self._vectors.setdefault(text, _frozen(vector))
        if not texts:
            return super().encode([])
        return np.stack([self._vectors[t] for t in texts])

    def encode_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        """As `encode`, the same vector for a text as `encode` gives (as one model run
        gives both), with its token vectors."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._tokens]
        if missing:
            vectors, tokens = super().encode_tokens(missing)
            for text, vector, found in zip(missing, vectors, tokens, strict=True):
                self._vectors.setdefault(text, _frozen(vector))
                self._tokens[text] = TextTokens(_frozen(found.ids), _frozen(found.vectors))
        if not texts:
            return super().encode_tokens([])
        return (np.stack([self._vectors[t] for t in texts]), [self._tokens[t] for t in texts])


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)  # a caller that changes it in place fails loudly
    return array


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged model for the session; POLICY_QA_TEST_ENCODE_ONCE=0 turns its memory
    off (scripts/encode_counts.py measures what it saves)."""
    if os.environ.get("POLICY_QA_TEST_ENCODE_ONCE", "1") == "0":
        return Embedder().warm_up()
    return SessionEmbedder().warm_up()


@pytest.fixture(scope="session")
def raw_embedder() -> Embedder:
    """The packaged model with no memory: for the tests of the embedder itself, whose
    every call must go through the model (the weights are loaded once either way)."""
    return Embedder().warm_up()


@pytest.fixture(scope="session")
def korero_policy():
    return load_policy(BUNDLED_POLICY)


@pytest.fixture(scope="session")
def korero_index_dir(tmp_path_factory, embedder, korero_policy) -> Path:
    out = tmp_path_factory.mktemp("korero") / "index"
    save_index(build_index(korero_policy, embedder), out)
    return out


@pytest.fixture(scope="session")
def korero_index(korero_index_dir, embedder) -> PolicyIndex:
    return load_index(korero_index_dir, model=embedder.id)


@pytest.fixture()
def make_service(korero_index, korero_index_dir, embedder, tmp_path):
    """Service over the Korero index; keyword arguments override settings."""

    def factory(**changes) -> Service:
        settings = Settings(index=korero_index_dir, outbox=tmp_path / "outbox.sqlite3",
                            maildir=tmp_path / "maildir",
                            analytics=tmp_path / "analytics.sqlite3").replace(**changes)
        return Service(settings, index=korero_index, embedder=embedder)

    return factory


@pytest.fixture()
def service(make_service) -> Service:
    return make_service()
