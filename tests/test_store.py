"""The saved index: round trip, manifest, atomic save, and refusals on load."""

from __future__ import annotations

import json
import shutil
import time
from importlib import metadata
from pathlib import Path

import faiss
import numpy as np
import pytest

from index.errors import IndexLoadError
from index.policy import load_policy, parse_policy
from index.split import SplitSettings
from index.store import FILES, build_index, load_index, save_index
from index.tokens import FILE as TOKENS
from index.tokens import TokenTable

POLICIES = Path(__file__).parent / "data" / "policies"


@pytest.fixture(scope="module")
def acme():
    return load_policy(POLICIES / "acme.md")


@pytest.fixture(scope="module")
def acme_index(acme, embedder):
    return build_index(acme, embedder, base_url="https://acme.example/privacy")


@pytest.fixture()
def saved(acme_index, tmp_path) -> Path:
    return save_index(acme_index, tmp_path / "index")


def _refused(path: Path, *needles: str, **kwargs) -> str:
    with pytest.raises(IndexLoadError) as info:
        load_index(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for needle in needles:
        assert needle in message, message
    return message


def test_round_trip(acme_index, saved, embedder):
    assert sorted(p.name for p in saved.iterdir()) == sorted([*FILES, TOKENS])
    loaded = load_index(saved, model=embedder.id, dimension=embedder.dimension)
    assert loaded.manifest == acme_index.manifest
    assert loaded.chunks == acme_index.chunks
    assert loaded.units == acme_index.units
    assert loaded.source == acme_index.source
    assert loaded.vectors.ntotal == acme_index.vectors.ntotal == len(loaded.units)
    query = embedder.encode(["How long do you keep IP addresses?"])
    scores, ids = loaded.search(query, 5)
    want_scores, want_ids = acme_index.search(query, 5)
    assert ids.tolist() == want_ids.tolist()
    assert np.allclose(scores, want_scores)
    best = loaded.chunks[loaded.units[int(ids[0][0])].chunk]
    assert best.subsection == "Server logs"
    assert loaded.base_url == "https://acme.example/privacy"


def test_manifest_records_how_the_index_was_built(acme, acme_index, saved, embedder):
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == "all-MiniLM-L6-v2" == embedder.id
    assert manifest["dimension"] == 384 == embedder.dimension
    assert manifest["splitter"] == SplitSettings().to_dict()
    assert manifest["splitter"]["chunk_size"] == 1000
    assert manifest["policy_sha256"] == acme.sha256
    assert manifest["title"] == "Acme Privacy Notice"
    assert manifest["last_revised"] == "March 3, 2025"
    assert manifest["inbox"] == "privacy@acme.example"
    assert manifest["base_url"] == "https://acme.example/privacy"
    assert manifest["package_version"] == metadata.version("policy-qa")
    built = time.mktime(time.strptime(manifest["built_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(built - time.mktime(time.gmtime())) < 3600
    assert manifest["chunks"] == len(acme_index.chunks)
    assert manifest["units"] == len(acme_index.units)
    chunks = [json.loads(line) for line in (saved / "chunks.jsonl").read_text().splitlines()]
    assert chunks == [c.to_dict() for c in acme_index.chunks]
    assert set(chunks[0]) == {"id", "section", "subsection", "anchor", "text", "start", "end"}


def test_settings_override_inbox_and_base_url_defaults_to_the_policy(embedder):
    policy = parse_policy("---\nurl: https://shop.example/privacy\n---\n# Shop\n\nWe keep "
                          "orders. Mail [us](mailto:dpo@shop.example).\n")
    index = build_index(policy, embedder, inbox="team@shop.example",
                        split=SplitSettings(chunk_size=500))
    assert index.manifest["inbox"] == "team@shop.example"
    assert index.manifest["base_url"] == "https://shop.example/privacy"
    assert index.manifest["splitter"]["chunk_size"] == 500


# --- atomic save -------------------------------------------------------------------

def test_failed_save_leaves_the_old_index_intact(acme_index, saved, embedder, monkeypatch):
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    other = build_index(parse_policy("# Other\n\nA different policy text.\n"), embedder)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", broken)
    with pytest.raises(OSError, match="No space left"):
        save_index(other, saved)
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before
    assert load_index(saved, model=embedder.id).manifest == acme_index.manifest
    assert [p.name for p in saved.parent.iterdir()] == ["index"]  # no temp dir left


def test_save_replaces_an_existing_index(acme_index, saved, embedder):
    other = build_index(parse_policy("# Other\n\nA different policy text.\n"), embedder)
    save_index(other, saved)
    assert load_index(saved).manifest["title"] == "Other"
    assert [p.name for p in saved.parent.iterdir()] == ["index"]


def test_save_failing_at_the_swap_keeps_an_index_in_place(acme_index, saved, embedder,
                                                          monkeypatch):
    other = build_index(parse_policy("# Other\n\nA different policy text.\n"), embedder)
    real_rename = Path.rename

    def rename(self, target):
        if self.name.startswith(".index.") and self.name != ".index.old":
            raise OSError(5, "Input/output error")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError):
        save_index(other, saved)
    monkeypatch.undo()
    assert load_index(saved).manifest["title"] in {"Acme Privacy Notice", "Other"}


def test_save_never_deletes_a_folder_that_is_no_index(acme_index, tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do
        save_index(acme_index, folder)
    assert (folder / "precious.txt").read_text() == "keep me"


# --- refusals on load --------------------------------------------------------------

def test_missing_directory_is_refused(tmp_path):
    _refused(tmp_path / "nowhere", "no index", "policy-qa build")


@pytest.mark.parametrize("name", FILES)
def test_missing_file_is_refused(saved, name):
    (saved / name).unlink()
    _refused(saved, "missing", name)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("manifest.json", b'{"format": 1, "model": '),
        ("chunks.jsonl", b'{"id": "c0000", "section": \n'),
        ("chunks.jsonl", b'{"id": "c0000"}\n'),
        ("units.jsonl", b"[1, 2, 3]\n"),
        ("index.faiss", b"this is not a faiss index"),
        ("index.faiss", b""),
        ("policy.md", b"\xff\xfe\x00broken"),
        ("tokens.npz", b"not a numpy archive"),
        ("tokens.npz", b""),
        ("tokens.npz", b"PK\x03\x04 a zip cut short"),
    ],
)
def test_corrupt_file_is_refused(saved, name, content):
    (saved / name).write_bytes(content)
    _refused(saved, "corrupt")


def test_an_index_that_lost_its_token_vectors_is_refused(saved):
    """The manifest says the index keeps token vectors (late interaction): without the
    file it is damaged, and it says so, rather than answering after embedding them all
    again unannounced (found by an audit; an index saved before the flag still loads:
    tests/test_late.py)."""
    assert json.loads((saved / "manifest.json").read_text())["tokens"] is True
    (saved / "tokens.npz").unlink()
    _refused(saved, "incomplete", "missing tokens.npz")


def test_truncated_faiss_file_is_refused(saved):
    data = (saved / "index.faiss").read_bytes()
    (saved / "index.faiss").write_bytes(data[: len(data) // 2])
    _refused(saved, "corrupt")


def test_manifest_of_unknown_format_is_refused(saved):
    (saved / "manifest.json").write_text("[1, 2, 3]")
    _refused(saved, "format")


def test_unit_pointing_nowhere_is_refused(saved):
    units = (saved / "units.jsonl").read_text().splitlines()
    row = json.loads(units[0])
    row["chunk"] = 999
    (saved / "units.jsonl").write_text("\n".join([json.dumps(row), *units[1:]]) + "\n")
    _refused(saved, "corrupt")


def test_index_built_with_another_model_is_refused(saved):
    message = _refused(saved, "'all-MiniLM-L6-v2'", "'/models/other-model'",
                       model="/models/other-model")
    assert "rebuild" in message


def test_model_edited_in_manifest_is_refused(saved, embedder):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["model"] = "sentence-transformers/all-mpnet-base-v2"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    _refused(saved, "all-mpnet-base-v2", "all-MiniLM-L6-v2", model=embedder.id)


def test_dimension_mismatch_is_refused(saved):
    _refused(saved, "384", "768", dimension=768)


def test_manifest_dimension_disagreeing_with_vectors_is_refused(saved, embedder):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["dimension"] = 768
    (saved / "manifest.json").write_text(json.dumps(manifest))
    _refused(saved, "768", model=embedder.id, dimension=768)  # the vectors have 384
    _refused(saved, "384", "768", model=embedder.id, dimension=embedder.dimension)


def test_vectors_not_matching_units_are_refused(saved, acme_index):
    small = faiss.IndexFlatIP(384)
    small.add(np.zeros((2, 384), dtype=np.float32))
    faiss.write_index(small, str(saved / "index.faiss"))
    _refused(saved, "corrupt", "2 vectors")


def test_copied_index_still_loads(saved, tmp_path, embedder):
    copy = shutil.copytree(saved, tmp_path / "copy")
    assert load_index(copy, model=embedder.id).chunks == load_index(saved).chunks


def test_a_chunk_key_a_later_release_adds_is_left_out(saved, embedder):
    """Rolling back a replica must not make the shared index "corrupt": a key this
    release does not know (one that only shaped what the build embedded) is dropped."""
    rows = (saved / "chunks.jsonl").read_text().splitlines()
    later = [json.dumps({**json.loads(row), "shape_of_next_release": [1, 2]}) for row in rows]
    expected = load_index(saved).chunks
    (saved / "chunks.jsonl").write_text("\n".join(later) + "\n")
    assert load_index(saved, model=embedder.id).chunks == expected


def test_a_saved_index_is_readable_by_other_users(acme_index, tmp_path):
    out = save_index(acme_index, tmp_path / "readable")
    assert out.stat().st_mode & 0o755 == 0o755


def test_the_token_table_round_trips_and_holds_each_chunks_content_tokens(acme_index, saved):
    table = load_index(saved).tokens
    assert isinstance(table, TokenTable)
    assert table.chunks == len(acme_index.chunks)
    assert np.array_equal(table.vectors, acme_index.tokens.vectors)
    assert np.array_equal(table.starts, acme_index.tokens.starts)
    assert all(len(table.rows(i)) for i in range(table.chunks))  # every chunk has words
    norms = np.linalg.norm(table.vectors.astype(np.float32), axis=1)
    assert np.allclose(norms, 1.0, atol=2e-3)  # unit rows, stored in float16


def test_a_token_table_of_other_chunks_is_refused(saved):
    with np.load(saved / TOKENS) as data:
        vectors, starts = data["vectors"], data["starts"]
    with (saved / TOKENS).open("wb") as fh:
        np.savez(fh, vectors=vectors, starts=starts[:-1])
    _refused(saved, "corrupt", TOKENS)


def test_an_index_saved_before_token_tables_still_loads(saved, embedder):
    (saved / TOKENS).unlink()  # as then: no file, and no flag in the manifest
    manifest = json.loads((saved / "manifest.json").read_text())
    del manifest["tokens"]
    (saved / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_index(saved, model=embedder.id)
    assert loaded.tokens is None and loaded.chunks
