"""Several documents, one index: which documents a `build` names, and loading them.

`policy-qa build` takes files and URLs, a folder (every policy file in it, sorted), or
a TOML list of documents:

    [[document]]
    path = "privacy.md"            # relative to the TOML file, or an http(s) URL
    url = "https://acme.example/privacy"   # where it is published (optional)
    title = "Privacy policy"       # optional: else the document's own title
    id = "privacy"                 # optional: else from the file name

Each document gets an id (a short slug, from the file name unless the list gives one):
labels name `id#anchor`, chunk ids are `id/c0000`. Every problem is one PolicyError
line naming the bad value, raised before anything is written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from index.errors import PolicyError
from index.fetch import is_url
from index.files import read_text
from index.policy import Policy, load_policy, load_policy_url

SUFFIXES = (".md", ".markdown", ".txt", ".text", ".html", ".htm", ".xhtml", ".pdf", ".docx")
_SKIPPED = re.compile(r"^(readme|license|licence|copying|notice)(\.|$)", re.I)
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_TOML_KEYS = frozenset({"path", "url", "title", "id"})


@dataclass(frozen=True)
class DocumentSpec:
    """One document a build names: where to read it (a path or an http(s) URL), and
    what the caller says of it (id, published URL, title; empty = from the document)."""

    location: str
    id: str = ""
    url: str = ""
    title: str = ""


@dataclass(frozen=True)
class Document:
    """A loaded document: its id, where it was read from, and the policy record (whose
    `title` and `url` already carry the caller's overrides)."""

    id: str
    location: str
    policy: Policy


@dataclass(frozen=True)
class DocumentInfo:
    """One document of an index, as the manifest records it: its id, title, the page it
    is published at (`url`, "" when unknown), where it was read from, the SHA-256 of its
    bytes, its chunk count, and the span [start, end) of its text in the index's source."""

    id: str
    title: str
    url: str
    name: str
    location: str
    sha256: str
    chunks: int
    start: int
    end: int
    format: str = "markdown"
    last_revised: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> DocumentInfo:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in row.items() if k in names})


def document_id(name: str) -> str:
    """A short slug for a file or URL name: `Cookie Policy.html` -> `cookie-policy`."""
    stem = Path(name).stem if Path(name).suffix.lower() in SUFFIXES else name
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:64].strip("-")
    return slug or "document"


def resolve(arguments: list[str]) -> list[DocumentSpec]:
    """The documents named on the command line: each argument a file or URL, or a
    single folder, or a single `.toml` list."""
    if len(arguments) == 1 and not is_url(arguments[0]):
        only = Path(arguments[0])
        if only.is_dir():
            return _folder(only)
        if only.suffix.lower() == ".toml":
            return _toml_list(only)
    for argument in arguments:
        if not is_url(argument) and Path(argument).is_dir():
            raise PolicyError(f"{argument} is a folder; name a folder on its own, not with "
                              "other documents")
        if not is_url(argument) and Path(argument).suffix.lower() == ".toml":
            raise PolicyError(f"{argument} is a document list; name it on its own, not "
                              "with other documents (or add them to it)")
    return [DocumentSpec(a) for a in arguments]


def _folder(folder: Path) -> list[DocumentSpec]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not p.name.startswith(".") and not _SKIPPED.match(p.name))
    if not files:
        raise PolicyError(f"folder {folder} holds no policy files "
                          f"({', '.join(SUFFIXES)}; README and LICENSE files are skipped)")
    return [DocumentSpec(str(p)) for p in files]


def _toml_list(path: Path) -> list[DocumentSpec]:
    try:
        data = tomllib.loads(read_text(path, "document list", PolicyError))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"document list {path} is not valid TOML: {exc}") from None
    entries = data.get("document")
    if not isinstance(entries, list) or not entries:
        raise PolicyError(f"document list {path} has no [[document]] entries")
    specs = []
    for number, entry in enumerate(entries, 1):
        where = f"document list {path}, [[document]] {number}"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where} is not a table")
        unknown = sorted(set(entry) - _TOML_KEYS)
        if unknown:
            raise PolicyError(f"{where} has unknown key {unknown[0]!r}; use "
                              f"{', '.join(sorted(_TOML_KEYS))}")
        values = {k: entry.get(k, "") for k in _TOML_KEYS}
        bad = next((k for k, v in values.items() if not isinstance(v, str)), None)
        if bad:
            raise PolicyError(f"{where}: {bad!r} must be a string")
        if not values["path"].strip():
            raise PolicyError(f"{where} has no 'path'")
        if values["url"] and not values["url"].startswith(("https://", "http://")):
            raise PolicyError(f"{where}: 'url' must be an http(s) URL; got {values['url']!r}")
        location = values["path"].strip()
        if not is_url(location):
            location = str(path.parent / location)
        specs.append(DocumentSpec(location, values["id"].strip(), values["url"].strip(),
                                  values["title"].strip()))
    return specs


def check_ids(specs: list[DocumentSpec]) -> list[DocumentSpec]:
    """Every spec with its id (given, else from the name); ids must be slugs and distinct."""
    out, seen = [], {}
    for spec in specs:
        if spec.id and not _ID.match(spec.id):
            raise PolicyError(f"document id {spec.id!r} must be a short slug: lower-case "
                              "letters, digits, '.', '_' or '-'")
        ident = spec.id or document_id(_name(spec.location))
        if ident in seen:
            raise PolicyError(f"duplicate document id {ident!r} ({seen[ident]} and "
                              f"{spec.location}); give each an id in a TOML list")
        seen[ident] = spec.location
        out.append(replace(spec, id=ident))
    return out


def _name(location: str) -> str:
    if "://" in location:
        parts = urlsplit(location)
        return unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) or parts.hostname or ""
    return Path(location).name


def load_documents(specs: list[DocumentSpec], *, base_url: str = "",
                   allow_private: bool = False) -> list[Document]:
    """Load every document; `base_url` (`--base-url`) only when there is one."""
    if not specs:
        raise PolicyError("no document to index")
    specs = check_ids(specs)
    if base_url and len(specs) > 1:
        raise PolicyError("--base-url names one page, but there are several documents; "
                          "give each its url in a TOML list")
    docs = []
    for spec in specs:
        given = spec.url or base_url
        if is_url(spec.location):
            policy = load_policy_url(spec.location, base_url=given, allow_private=allow_private)
        else:
            policy = load_policy(spec.location, base_url=given)
        if spec.title:
            policy = replace(policy, title=spec.title)
        docs.append(Document(spec.id, spec.location, policy))
    return docs


_PRIVACY = re.compile(r"privacy|datenschutz|data protection", re.I)


def primary(docs: list[Document]) -> Document:
    """The privacy policy among the documents (its title or id says so), else the first:
    its title, date and inbox speak for the index."""
    return next((d for d in docs if _PRIVACY.search(d.policy.title) or _PRIVACY.search(d.id)),
                docs[0])


def choose_inbox(docs: list[Document]) -> tuple[str, str]:
    """The privacy inbox of the documents, and why: the privacy policy's, else the first
    document's that names one."""
    first = primary(docs)
    for doc in [first, *(d for d in docs if d is not first)]:
        if doc.policy.inbox:
            reason = doc.policy.inbox_reason
            return doc.policy.inbox, (f"{reason}, in {doc.policy.title!r}" if len(docs) > 1
                                      else reason)
    return "", docs[0].policy.inbox_reason if len(docs) == 1 else "none found in any document"
