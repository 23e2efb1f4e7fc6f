"""Reading the files a user names, and writing ours atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.errors import PolicyQAError


def read_file(path: object, what: str, error: type[PolicyQAError]) -> bytes:
    """The bytes of a user-named file, or `error` with a one-line reason naming it
    (`what` is how the message names the file, e.g. "policy file")."""
    try:
        return Path(str(path)).read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{what} is a directory, not a file: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None


def read_text(path: object, what: str, error: type[PolicyQAError]) -> str:
    """A user-named UTF-8 text file, or `error` with a one-line reason naming it."""
    try:
        return read_file(path, what, error).decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None


NOT_JSON = "{where} line {number} is not valid JSON: {reason}"


def json_lines(text: str, where: str, error: type[PolicyQAError], *,
               not_json: str = NOT_JSON) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of JSON Lines `text`; a line
    that is not JSON is `error` with the `not_json` message (naming where and the line).
    A UTF-8 byte order mark (as some editors save) is no JSON and is skipped."""
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(not_json.format(where=where, number=number, reason=exc.msg)) from None


def json_objects(text: str, where: str, error: type[PolicyQAError], *,
                 not_json: str = NOT_JSON) -> Iterator[tuple[int, dict[str, Any]]]:
    """As `json_lines`, each line a JSON object."""
    for number, row in json_lines(text, where, error, not_json=not_json):
        if not isinstance(row, dict):
            raise error(f"{where} line {number} is not a JSON object")
        yield number, row


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644) -> None:
    """Write `data` to `path` so a reader sees the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
