"""What `policy-qa tune` leaves behind: the manifest (tune.json: sources, split, sizes,
settings, metrics before and after, cost and package versions), the one-line cost
summary, and the model written atomically next to its manifest.
"""

from __future__ import annotations

import json
import resource
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.embed import model_id
from qa.tuning.check import Metrics
from qa.tuning.data import Source, Split

if TYPE_CHECKING:
    from qa.tuning.config import TuneConfig

MANIFEST = "tune.json"


def cost_line(manifest: dict[str, Any]) -> str:
    seconds = manifest["seconds"]
    return (f"time {_duration(seconds['total'])} (training {_duration(seconds['train'])}, "
            f"{_duration(seconds['train_cpu'])} CPU"
            + (", stopped early by --max-minutes" if manifest["stopped_early"] else "")
            + f"), peak memory {manifest['peak_rss_bytes'] / 2**30:.2f} GB, load average "
            f"{manifest['load_average'][0]:.1f} on {manifest['cpu_cores']} cores")


def _duration(seconds: float) -> str:
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def build_manifest(config: TuneConfig, sources: Sequence[Source], evaluation: Sequence[Source],
                   split: Split, pairs: tuple[int, int], before: Metrics, after: Metrics,
                   run: dict[str, Any], better: bool) -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for package in ("sentence-transformers", "transformers", "torch", "policy-qa"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    held = split.held_out
    return {
        "format": 1,
        "base_model": model_id(config.base),
        "sources": [s.describe() for s in sources],
        "eval_sources": [s.describe() for s in evaluation],
        "held_out": {"how": split.how, "documents": list(split.held_out_documents)},
        "sizes": {"train_pairs": pairs[0], "unanswerable_pairs": pairs[1],
                  "train_documents": sum(1 for d in split.train if d.pairs),
                  "held_out_questions": sum(len(d.queries) for d in held),
                  "held_out_passages": sum(len(d.passages) for d in held)},
        "epochs": config.epochs, "seed": config.seed, "max_seq_length": config.max_seq_length,
        "batch_size": config.batch_size, "learning_rate": config.learning_rate,
        "threads": config.threads, "max_minutes": config.max_minutes,
        "loss": "MultipleNegativesRankingLoss"
                + (" + CosineSimilarityLoss (unanswerable pairs towards 0)" if pairs[1] else ""),
        "negatives_per_unanswerable": config.negatives,
        "batch_sampler": "no duplicates, grouped by length",
        **run,
        "peak_rss_bytes": peak_rss_bytes(),
        "before": before.summary(), "after": after.summary(),
        "passed_check": better, "forced": config.force and not better,
        "versions": versions,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_model(model: Any, out: Path, manifest: dict[str, Any]) -> None:
    """Save into a sibling temp folder, then rename it over `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    old = out.with_name(f".{out.name}.old")
    try:
        model.save(str(tmp), create_model_card=False)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for path in [tmp, *tmp.rglob("*")]:  # mkdtemp makes 0700; a server may run as another user
            path.chmod(0o755 if path.is_dir() else 0o644)
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
