"""What the format converters share: the Converted record, detection by content,
decoding, and the Markdown writer helpers."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from index.errors import PolicyError
from index.text import CELL_ITEMS

MAX_TEXT_BYTES = 5_000_000  # Markdown, HTML, plain text
MAX_DOCUMENT_BYTES = 20_000_000  # PDF, Word
MAX_UNZIPPED_BYTES = 100_000_000  # a .docx's parts, unpacked (zip bombs)
FORMATS = ("markdown", "html", "pdf", "docx", "text")


@dataclass(frozen=True)
class Converted:
    """A policy in the splitter's representation. `pages` are the offsets in `text`
    where the blocks of page 1, 2, … begin (PDF only); `meta` holds what the file
    says about itself (front matter, `<head>`, document properties)."""

    format: str
    text: str
    body_start: int = 0
    meta: Mapping[str, object] = field(default_factory=dict)
    pages: tuple[int, ...] = ()


_UNSUPPORTED = (  # (magic bytes, what the file is)
    (b"\xd0\xcf\x11\xe0", "a legacy Office file (.doc/.xls); save it as .docx or PDF"),
    (b"{\\rtf", "an RTF document; save it as .docx, PDF or Markdown"),
    (b"\x89PNG", "a PNG image; run OCR first"),
    (b"\xff\xd8\xff", "a JPEG image; run OCR first"),
    (b"GIF8", "a GIF image; run OCR first"),
    (b"II*\x00", "a TIFF image; run OCR first"),
    (b"MM\x00*", "a TIFF image; run OCR first"),
    (b"\x1f\x8b", "gzip-compressed; unpack it first"),
)
_HTML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head"
                         rb"|body)\b", re.I | re.S)
_TAG_LINE = re.compile(rb"^\s*</?[a-zA-Z][a-zA-Z0-9]*[\s>/]", re.M)
_ATX = re.compile(rb"^#{1,6}[ \t]", re.M)


def detect(raw: bytes, name: str) -> str:
    """One of FORMATS, from the bytes (the file name only breaks a tie between
    Markdown and an HTML fragment); PolicyError for a type we cannot read."""
    if b"%PDF-" in raw[:1024]:
        return "pdf"
    if raw.startswith(b"PK\x03\x04"):
        return _zip_kind(raw, name)
    for magic, what in _UNSUPPORTED:
        if raw.startswith(magic):
            kind = "" if magic == b"{\\rtf" else "binary, not text: "
            raise PolicyError(f"policy {name} is {kind}{what}")
    if b"\x00" in raw:
        raise PolicyError(f"policy {name} looks binary (it contains NUL bytes), not text")
    if _HTML_START.match(raw):
        return "html"
    lines = [ln for ln in raw[:200_000].splitlines() if ln.strip()]
    tagged = sum(1 for ln in lines if _TAG_LINE.match(ln))
    html_name = name.lower().endswith((".html", ".htm", ".xhtml"))
    if lines and not _ATX.search(raw) and (tagged >= 0.6 * len(lines) or html_name and tagged):
        return "html"
    return "markdown"


def _zip_kind(raw: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts = archive.infolist()
            names = {p.filename for p in parts}
            mimetype = archive.read("mimetype")[:80] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        raise PolicyError(f"policy {name} is a damaged ZIP/Office file") from None
    if "word/document.xml" not in names:
        what = "an OpenDocument file" if b"opendocument" in mimetype else "a ZIP archive"
        raise PolicyError(f"policy {name} is {what}, not a supported policy format "
                          "(Markdown, HTML, PDF, Word .docx or plain text)")
    unpacked = sum(p.file_size for p in parts)
    if unpacked > MAX_UNZIPPED_BYTES:
        raise PolicyError(f"policy {name} unpacks to {unpacked} bytes; the limit is "
                          f"{MAX_UNZIPPED_BYTES}")
    return "docx"


def decode_text(raw: bytes, name: str, encoding: str = "utf-8") -> str:
    """Text of `raw` (a UTF-8 byte order mark is dropped), else a PolicyError that
    names the first bad byte."""
    try:
        return raw.decode("utf-8-sig" if encoding.lower().replace("_", "-") in (
            "utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        label = "UTF-8" if encoding.lower() in ("utf-8", "utf8") else encoding
        raise PolicyError(
            f"policy {name} is not {label} text (bad byte at position {exc.start})"
        ) from None
    except LookupError:
        raise PolicyError(f"policy {name} declares an unknown encoding {encoding!r}") from None


# --- writing the Markdown representation -------------------------------------------

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!~])")
_LINE_START = re.compile(r"^(\s*)([-+=]|\d{1,9}(?=[.)]))")
_WS = re.compile(r"\s+")


def escape(text: str) -> str:
    """`text` as Markdown that renders back to exactly `text` (whitespace collapsed):
    every markup character escaped, `&` written as an entity."""
    text = _WS.sub(" ", text).replace("&", "&amp;")
    return _SPECIAL.sub(r"\\\1", text)


def paragraph(text: str) -> str:
    """An escaped paragraph on one line that cannot start a list, quote or rule."""
    return guard_line_start(escape(text).strip())


def guard_line_start(line: str) -> str:
    """Escape what would make an escaped line a list item or setext underline."""
    match = _LINE_START.match(line)
    if not match:
        return line
    if match.group(2).isdigit():  # "2024. That year" is no ordered list item
        end = match.end()
        return line[:end] + "\\" + line[end:]
    return line[: match.start(2)] + "\\" + line[match.start(2):]


def heading(level: int, text: str, anchor: str | None = None) -> str:
    """An ATX heading, with the source's own id as an attribute list."""
    line = f"{'#' * max(1, min(level, 6))} {escape(text).strip()}"
    return f"{line} {{#{anchor}}}" if anchor and _ID.fullmatch(anchor) else line


def attributes(anchor: str | None) -> str:
    """The attribute-list line that gives the block above it an id (or "")."""
    return f"\n{{: #{anchor} }}" if anchor and _ID.fullmatch(anchor) else ""


def table_row(cells: list[str]) -> str:
    return "| " + " | ".join(escape(c).strip() for c in cells) + " |"


def table(header: list[str] | None, rows: list[list[str]]) -> str:
    """A pipe table. Its rendering (`index.text.render_block`) reads each row's cells
    as lines of their own; the header row is column labels, not text, so a table
    without one gets an empty header row (its first row is data)."""
    width = max(len(r) for r in [*rows, header or []])
    lines = [table_row((header or []) + [""] * (width - len(header or [])))]
    lines.append("|" + " --- |" * width)
    lines.extend(table_row(r + [""] * (width - len(r))) for r in rows)
    return "\n".join(lines)


def cell_text(parts: list[str]) -> str:
    """A table cell's paragraphs or list items on one line: CELL_ITEMS between items,
    a space after a part that ends a sentence ("Technical data; Location")."""
    out = ""
    for part in (" ".join(p.split()) for p in parts):
        if part:
            out += ("" if not out else " " if out[-1] in ".!?:;," else CELL_ITEMS) + part
    return out


_ID = re.compile(r"[^\s{}#]+")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescape(markdown: str) -> str:
    """`markdown` without backslash escapes (line numbers and most offsets kept)."""
    return _ESCAPED.sub(r"\1", markdown)
