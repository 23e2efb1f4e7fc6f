"""Files the console offers for download: each in a fresh unguessable folder under the
console's gradio cache (the only place it serves files from). Exports hold personal
data, so those older than EXPORT_SECONDS are removed whenever a new one is made."""

from __future__ import annotations

import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

EXPORT_SECONDS = 3600.0


def write_export(cache: str | Path, kind: str, name: str, ext: str, text: str,
                 now: float) -> Path:
    """Write `text` as `{name}-{UTC stamp of now}.{ext}` in a new folder of
    `cache`/`kind`, after removing that kind's expired exports; return its path."""
    root = Path(cache) / kind
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in root.iterdir():
        try:
            if time.time() - old.stat().st_mtime > EXPORT_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    folder = root / secrets.token_hex(16)
    folder.mkdir(mode=0o700)
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{name}-{stamp}.{ext}"
    path.write_text(text, encoding="utf-8")
    return path
