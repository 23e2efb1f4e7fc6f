"""How an index folder is written and read back safely, for index/store.py's save_index
and load_index: the target is checked before it is replaced, the new folder is swapped
in by renames (an interrupted swap is found and undone on the next load), and what is
read is checked against its manifest. Every problem is one clear error line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from index.errors import IndexLoadError, PolicyQAError
from index.units import UNIT_KINDS

FORMAT = 3  # 3: sentences embedded with glosses (index/glosses.py)


def check_target(out: Path) -> None:
    """Saving replaces `out` wholesale: never let that be a file or a folder of
    something else (`--out .` would otherwise wipe the current folder)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise PolicyQAError(f"cannot write the index to {out}: it exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise PolicyQAError(
            f"refusing to replace {out}: it is not empty and holds no policy-qa index "
            "(no manifest.json); choose another --out")


def previous_of(out: Path) -> Path:
    return out.with_name(f".{out.name}.old")


def swap(new: Path, out: Path) -> None:
    """Move `new` into place. A directory cannot be renamed over a non-empty one, so
    the old index steps aside first; if the second rename fails it steps back, and if
    the process dies in between, `load_index` finds it beside `out` and restores it."""
    old = previous_of(out)
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


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_lines(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def corrupt(path: Path, exc: Exception) -> IndexLoadError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return IndexLoadError(f"index at {path} is corrupt: {detail[:200]}")


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def check_manifest(path, manifest, chunks, units, vectors, model, dimension) -> None:
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
