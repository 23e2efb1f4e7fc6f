"""index/units.py: the one text each retrieval unit is embedded as, and the proof that
tuning trains on exactly the texts the index embeds for the same chunks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.split import Chunk
from index.store import Unit as StoreUnit
from index.store import build_index
from index.units import Unit, chunk_text, make_units, unit_text
from qa.settings import BUNDLED_POLICY
from qa.tuning.sources import load_sources

DATA = Path(__file__).parent / "data"
TEXT = "We keep logs. They expire."
CHUNK = Chunk(id="c0", section="Retention", subsection="Logs", anchor="retention",
              text=TEXT, start=0, end=len(TEXT))


class RecordingEmbedder:
    """Stands in for the model: remembers every text it is asked to embed."""

    id = "recording"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += texts
        rng = np.random.default_rng(len(self.texts))
        vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize(("kind", "start", "end", "expected"), [
    ("sentence", 0, 13, "Retention Logs: We keep logs."),
    ("plain", 14, 26, "They expire."),
    ("chunk", 0, None, f"Retention Logs: {TEXT}"),
    ("heading", 0, 0, "Retention Logs"),
])
def test_each_kind_of_unit_has_its_text(kind: str, start: int, end: int | None,
                                        expected: str) -> None:
    assert unit_text(CHUNK, kind, start, end) == expected


def test_a_chunk_without_sub_section_is_titled_by_its_section() -> None:
    chunk = Chunk(id="c1", section="Cookies", subsection="", anchor="cookies",
                  text="We use them.", start=0, end=12)
    assert chunk_text(chunk) == "Cookies: We use them."
    assert unit_text(chunk, "heading") == "Cookies"


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'para'"):
        unit_text(CHUNK, "para")


def test_units_cover_every_sentence_twice_then_the_chunk_and_its_heading() -> None:
    units = make_units([CHUNK])
    assert [u.kind for u in units] == ["sentence", "sentence", "plain", "plain", "chunk",
                                       "heading"]
    assert [u.embed_text(CHUNK) for u in units][:3] == [
        "Retention Logs: We keep logs.", "Retention Logs: They expire.", "We keep logs."]
    assert StoreUnit is Unit  # index.store still offers the record it saves and loads


def test_tuning_passages_are_the_texts_the_index_embeds_for_the_same_chunks(
        korero_policy) -> None:
    embedder = RecordingEmbedder()
    index = build_index(korero_policy, embedder)
    embedded = dict(zip(index.units, embedder.texts, strict=True))
    chunk_texts = [embedded[u] for u in index.units if u.kind == "chunk"]

    [source] = load_sources([f"{DATA / 'korero-dev.jsonl'}::{BUNDLED_POLICY}"], None)
    [document] = source.documents
    assert document.labels == tuple(c.anchor for c in index.chunks)
    assert document.passages == tuple(chunk_texts)
    assert all(document.passages) and len(set(document.passages)) == len(index.chunks)
