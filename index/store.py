"""The saved index: FAISS file + chunks + units + manifest.json (+ the policy source, and
the chunks' token vectors for late interaction, index/tokens.py).

Retrieval units are what gets embedded: every sentence of every chunk, prefixed with
its section (and sub-section) title so a sentence carries its context, the sentence
alone, each chunk as a whole and each section title; `index/units.py` makes them and
writes the one text each is embedded as.

`save_index` writes a temporary directory and renames it into place, so a crash
mid-build never leaves a half index where the old one stood. `load_index` refuses
missing or corrupt files and an index built with another model or dimension (the
mechanics of both: index/saving.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.documents import Document, DocumentInfo, choose_inbox, document_id, primary
from index.embed import Embedder, token_names
from index.errors import IndexLoadError, PolicyError, PolicyQAError
from index.policy import Policy
from index.reuse import Stored
from index.saving import (
    FORMAT,
    check_manifest,
    check_target,
    corrupt,
    previous_of,
    read_lines,
    swap,
    write_json,
    write_lines,
)
from index.split import Chunk, SplitSettings, split_policy
from index.tokens import FILE as TOKENS_FILE
from index.tokens import TokenTable, embed_table, join, load_table, table_of, token_units
from index.units import Unit, make_units
from index.vectors import vector_index

FILES = ("manifest.json", "chunks.jsonl", "units.jsonl", "index.faiss", "policy.md")


@dataclass(frozen=True)
class PolicyIndex:
    manifest: dict[str, Any]
    chunks: tuple[Chunk, ...]
    units: tuple[Unit, ...]
    vectors: Any  # faiss.Index over the units, inner product on unit vectors
    source: str
    tokens: TokenTable | None = None  # each chunk's token vectors (None: saved without)

    @property
    def base_url(self) -> str:
        return self.manifest.get("base_url", "")

    @functools.cached_property
    def documents(self) -> tuple[DocumentInfo, ...]:
        """The documents, in order (an index built before several documents were
        possible is one document: the whole source)."""
        rows = self.manifest.get("documents")
        if rows:
            return tuple(DocumentInfo.from_dict(r) for r in rows)
        name = self.manifest.get("policy_name", "policy")
        return (DocumentInfo(document_id(name), self.manifest.get("title", ""), self.base_url,
                             name, name, self.manifest.get("policy_sha256", ""),
                             len(self.chunks), 0, len(self.source),
                             last_revised=self.manifest.get("last_revised")),)

    def document_of(self, chunk: Chunk) -> DocumentInfo:
        """The document a chunk comes from."""
        by_id = {d.id: d for d in self.documents}
        return by_id.get(chunk.document) or self.documents[0]

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
    """Split, embed and index one policy (in memory; `save_index` writes it)."""
    doc = Document(document_id(policy.name), policy.name, policy)
    return build_documents([doc], embedder, base_url=base_url, inbox=inbox, split=split)


SEPARATOR = "\n\n"  # between documents in the index's source


def build_documents(
    docs: list[Document],
    embedder: Embedder,
    *,
    base_url: str = "",
    inbox: str = "",
    split: SplitSettings | None = None,
    previous: PolicyIndex | None = None,
) -> PolicyIndex:
    """Split, embed and index several documents into one index. Chunks of an index of
    several documents carry their document's id (ids `doc/c0000`, offsets into the
    joint source); a document unchanged since `previous` keeps its stored vectors."""
    split = split or SplitSettings()
    started = time.perf_counter()
    stored = Stored(previous, embedder.id, split.to_dict())
    several = len(docs) > 1
    chunks: list[Chunk] = []
    units: list[Unit] = []
    parts: list[np.ndarray] = []
    infos: list[DocumentInfo] = []
    reused: list[str] = []
    tables: list[TokenTable | None] = []
    offset = 0
    for doc in docs:
        own = split_policy(doc.policy, split)
        if not own:
            raise PolicyError(f"policy {doc.policy.name} has no text to index besides its "
                              f"title ({doc.policy.title!r})")
        if several:
            own = [replace(c, id=f"{doc.id}/{c.id}", document=doc.id, start=c.start + offset,
                           end=c.end + offset) for c in own]
        own_units = make_units(own)
        texts = [u.embed_text(own[u.chunk]) for u in own_units]
        vectors = stored.vectors(doc.id, doc.policy.sha256, texts)
        table = stored.tokens(doc.id) if vectors is not None else None
        if vectors is None:
            vectors, table = _embed(own, own_units, texts, embedder)
        else:
            reused.append(doc.id)
            if table is None and hasattr(embedder, "encode_tokens"):
                table = embed_table(own, own_units, embedder)
        tables.append(table)
        units += [replace(u, chunk=u.chunk + len(chunks)) for u in own_units]
        chunks += own
        parts.append(np.asarray(vectors, dtype=np.float32))
        url = (base_url if not several else "") or doc.policy.url
        infos.append(DocumentInfo(doc.id, doc.policy.title, url, doc.policy.name, doc.location,
                                  doc.policy.sha256, len(own), offset,
                                  offset + len(doc.policy.source), doc.policy.format,
                                  doc.policy.last_revised))
        offset += len(doc.policy.source) + len(SEPARATOR)
    matrix = np.vstack(parts)
    flat = vector_index(matrix)  # exact, or HNSW for large indexes (index/vectors.py)
    main = primary(docs)
    manifest = {
        "format": FORMAT,
        "model": embedder.id,
        "dimension": int(matrix.shape[1]),
        "splitter": split.to_dict(),
        "policy_name": ", ".join(d.policy.name for d in docs),
        "policy_sha256": docs[0].policy.sha256 if not several else hashlib.sha256(
            "".join(f"{d.id} {d.policy.sha256}\n" for d in docs).encode()).hexdigest(),
        "title": main.policy.title,
        "last_revised": main.policy.last_revised,
        "inbox": inbox or choose_inbox(docs)[0],
        "base_url": infos[docs.index(main)].url,
        "package_version": package_version(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.perf_counter() - started, 3),
        "chunks": len(chunks),
        "units": len(units),
        "documents": [i.to_dict() for i in infos],
        "reused": reused,
    }
    if not several and docs[0].policy.source_info:  # fetched: what a re-sync compares
        manifest["source"] = dict(docs[0].policy.source_info)
    for info, doc in zip(manifest["documents"], docs, strict=True):
        if doc.policy.source_info:
            info["fetched"] = dict(doc.policy.source_info)
    source = SEPARATOR.join(d.policy.source for d in docs)
    joined = join(tables) if all(t is not None for t in tables) else None
    manifest["tokens"] = joined is not None  # saved in TOKENS_FILE: without it, damaged
    return PolicyIndex(manifest, tuple(chunks), tuple(units), flat, source, joined)


def _embed(chunks: list[Chunk], units: list[Unit], texts: list[str], embedder: Embedder
           ) -> tuple[np.ndarray, TokenTable | None]:
    """The units' vectors, and the token table from the same model runs (the units it
    keeps are embedded for their tokens too, the others for their vectors alone)."""
    if not hasattr(embedder, "encode_tokens"):  # a stand-in model: no table
        return embedder.encode(texts), None
    kept = token_units(units)
    others = sorted(set(range(len(units))) - set(kept))
    kept_vectors, found = embedder.encode_tokens([texts[j] for j in kept])
    other_vectors = embedder.encode([texts[j] for j in others])
    vectors = np.zeros((len(units), embedder.dimension), dtype=np.float32)
    if kept:
        vectors[kept] = kept_vectors
    if others:
        vectors[others] = other_vectors
    return vectors, table_of(chunks, units, dict(zip(kept, found, strict=True)),
                             embedder.dimension, token_names(embedder))


def previous_index(path: Path, model: str) -> PolicyIndex | None:
    """The index saved at `path`, for its vectors, if it loads; else None (a missing,
    corrupt or foreign index only means everything is embedded afresh)."""
    if not (Path(path) / "manifest.json").is_file():
        return None
    try:
        return load_index(Path(path), model=model)
    except PolicyQAError:
        return None


def save_index(index: PolicyIndex, out: Path) -> Path:
    """Write atomically: a sibling temp dir, fsync'd, then renamed over `out`."""
    out = Path(out)
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700: a server running as another user reads it
        write_json(tmp / "manifest.json", index.manifest)
        write_lines(tmp / "chunks.jsonl", [c.to_dict() for c in index.chunks])
        write_lines(tmp / "units.jsonl", [asdict(u) for u in index.units])
        faiss.write_index(index.vectors, str(tmp / "index.faiss"))
        (tmp / "policy.md").write_text(index.source, encoding="utf-8")
        names = list(FILES)
        if index.tokens is not None:
            names.append(index.tokens.save(tmp).name)
        for name in names:
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_index(path: Path, *, model: str | None = None, dimension: int | None = None
               ) -> PolicyIndex:
    """Load and check an index directory; every problem is one IndexLoadError line."""
    path = Path(path)
    if not path.exists() and previous_of(path).is_dir():
        previous_of(path).rename(path)  # a save died between its two renames
    if not path.is_dir():
        raise IndexLoadError(f"no index at {path}; build one with `policy-qa build POLICY`")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise IndexLoadError(f"index at {path} is incomplete: missing {', '.join(missing)}")
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        chunks = tuple(Chunk.from_dict(row) for row in read_lines(path / "chunks.jsonl"))
        units = tuple(Unit(**row) for row in read_lines(path / "units.jsonl"))
        vectors = faiss.read_index(str(path / "index.faiss"))
        source = (path / "policy.md").read_text(encoding="utf-8")
    except (ValueError, TypeError, KeyError, RuntimeError, UnicodeDecodeError) as exc:
        raise corrupt(path, exc) from None
    check_manifest(path, manifest, chunks, units, vectors, model, dimension)
    try:
        tokens = load_table(path, len(chunks), vectors.d)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise corrupt(path, exc) from None
    if tokens is None and manifest.get("tokens") is True:  # (an index saved before the
        # flag has its token vectors embedded when first needed: qa/answering/retrieve.py)
        raise IndexLoadError(f"index at {path} is incomplete: missing {TOKENS_FILE}")
    return PolicyIndex(manifest, chunks, units, vectors, source, tokens)


