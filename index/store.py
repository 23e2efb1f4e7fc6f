"""The saved index: FAISS file + chunks + units + manifest.json (+ the policy source).

Retrieval units are what gets embedded: every sentence of every chunk, prefixed with
its section (and sub-section) title so a sentence carries its context, the sentence
alone, each chunk as a whole and each section title; `index/units.py` makes them and
writes the one text each is embedded as.

`save_index` writes a temporary directory and renames it into place, so a crash
mid-build never leaves a half index where the old one stood. `load_index` refuses
missing or corrupt files and an index built with another model or dimension.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.embed import Embedder
from index.errors import IndexLoadError, PolicyQAError
from index.policy import Policy
from index.split import Chunk, SplitSettings, split_policy
from index.units import UNIT_KINDS, Unit, make_units

FORMAT = 2
FILES = ("manifest.json", "chunks.jsonl", "units.jsonl", "index.faiss", "policy.md")


@dataclass(frozen=True)
class PolicyIndex:
    manifest: dict[str, Any]
    chunks: tuple[Chunk, ...]
    units: tuple[Unit, ...]
    vectors: Any  # faiss.Index over the units, inner product on unit vectors
    source: str

    @property
    def base_url(self) -> str:
        return self.manifest.get("base_url", "")

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k units per query row: (scores, unit ids), best first."""
        return self.vectors.search(queries, min(k, self.vectors.ntotal))


def package_version() -> str:
    try:
        return metadata.version("policy-qa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def build_index(
    policy: Policy,
    embedder: Embedder,
    *,
    base_url: str = "",
    inbox: str = "",
    split: SplitSettings | None = None,
) -> PolicyIndex:
    """Split, embed and index a policy (in memory; `save_index` writes it)."""
    split = split or SplitSettings()
    started = time.perf_counter()
    chunks = split_policy(policy, split)
    units = make_units(chunks)
    vectors = embedder.encode([u.embed_text(chunks[u.chunk]) for u in units])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    manifest = {
        "format": FORMAT,
        "model": embedder.id,
        "dimension": int(vectors.shape[1]),
        "splitter": split.to_dict(),
        "policy_name": policy.name,
        "policy_sha256": policy.sha256,
        "title": policy.title,
        "last_revised": policy.last_revised,
        "inbox": inbox or policy.inbox or "",
        "base_url": base_url or policy.url,
        "package_version": package_version(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.perf_counter() - started, 3),
        "chunks": len(chunks),
        "units": len(units),
    }
    if policy.source_info:  # fetched by URL: what a later re-sync compares against
        manifest["source"] = dict(policy.source_info)
    return PolicyIndex(manifest, tuple(chunks), tuple(units), flat, policy.source)


def save_index(index: PolicyIndex, out: Path) -> Path:
    """Write atomically: a sibling temp dir, fsync'd, then renamed over `out`."""
    out = Path(out)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700: a server running as another user reads it
        _write_json(tmp / "manifest.json", index.manifest)
        _write_lines(tmp / "chunks.jsonl", [c.to_dict() for c in index.chunks])
        _write_lines(tmp / "units.jsonl", [asdict(u) for u in index.units])
        faiss.write_index(index.vectors, str(tmp / "index.faiss"))
        (tmp / "policy.md").write_text(index.source, encoding="utf-8")
        for name in FILES:
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _check_target(out: Path) -> None:
    """Saving replaces `out` wholesale: never let that be a file or a folder of
    something else (`--out .` would otherwise wipe the current folder)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise PolicyQAError(f"cannot write the index to {out}: it exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise PolicyQAError(
            f"refusing to replace {out}: it is not empty and holds no policy-qa index "
            "(no manifest.json); choose another --out")


def _previous(out: Path) -> Path:
    return out.with_name(f".{out.name}.old")


def _swap(new: Path, out: Path) -> None:
    """Move `new` into place. A directory cannot be renamed over a non-empty one, so
    the old index steps aside first; if the second rename fails it steps back, and if
    the process dies in between, `load_index` finds it beside `out` and restores it."""
    old = _previous(out)
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_lines(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def load_index(path: Path, *, model: str | None = None, dimension: int | None = None
               ) -> PolicyIndex:
    """Load and check an index directory; every problem is one IndexLoadError line."""
    path = Path(path)
    if not path.exists() and _previous(path).is_dir():
        _previous(path).rename(path)  # a save died between its two renames
    if not path.is_dir():
        raise IndexLoadError(f"no index at {path}; build one with `policy-qa build POLICY`")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise IndexLoadError(f"index at {path} is incomplete: missing {', '.join(missing)}")
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        chunks = tuple(Chunk(**row) for row in _read_lines(path / "chunks.jsonl"))
        units = tuple(Unit(**row) for row in _read_lines(path / "units.jsonl"))
        vectors = faiss.read_index(str(path / "index.faiss"))
        source = (path / "policy.md").read_text(encoding="utf-8")
    except (ValueError, TypeError, KeyError, RuntimeError, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IndexLoadError(f"index at {path} is corrupt: {detail[:200]}") from None
    _check_manifest(path, manifest, chunks, units, vectors, model, dimension)
    return PolicyIndex(manifest, chunks, units, vectors, source)


def _read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _check_manifest(path, manifest, chunks, units, vectors, model, dimension) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexLoadError(f"index at {path} has an unknown format; rebuild it")
    if model is not None and manifest.get("model") != model:
        raise IndexLoadError(
            f"index at {path} was built with model {manifest.get('model')!r} but the "
            f"configured model is {model!r}; rebuild it or set POLICY_QA_MODEL"
        )
    if dimension is not None and manifest.get("dimension") != dimension:
        raise IndexLoadError(
            f"index at {path} has dimension {manifest.get('dimension')} but the model "
            f"gives dimension {dimension}; rebuild it"
        )
    if vectors.d != manifest.get("dimension") or vectors.ntotal != len(units):
        raise IndexLoadError(
            f"index at {path} is corrupt: {vectors.ntotal} vectors of dimension {vectors.d} "
            f"for {len(units)} units of dimension {manifest.get('dimension')}"
        )
    if any(not 0 <= u.chunk < len(chunks) or u.kind not in UNIT_KINDS for u in units):
        raise IndexLoadError(f"index at {path} is corrupt: a unit points to no chunk")
