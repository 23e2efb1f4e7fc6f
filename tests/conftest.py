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

import pytest  # noqa: E402

from index.embed import Embedder  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.store import PolicyIndex, build_index, load_index, save_index  # noqa: E402
from qa.service import Service  # noqa: E402
from qa.settings import BUNDLED_POLICY, Settings  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
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
