"""The escalation outbox: unanswered questions, committed to SQLite before anyone is
told "forwarded", then handed to delivery (qa/deliver.py) with leases and retries.

Life of a row: queued -> sent | failed (dead letter; `resend` re-queues it) and, when
an agent answers it, resolved. Only this module writes the database. Rows leave it as
frozen `Escalation` records. `claim_due` leases a row to one deliverer at a time, and
the `mark_*` calls only land while that lease (its token) still holds.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import math
import re
import secrets
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from index.errors import (
    ConfigError,
    EmailError,
    NotFoundError,
    PolicyQAError,
    QuestionError,
    RateLimitedError,
)

__all__ = [
    "Claim", "Escalation", "EscalationStateError", "OfferedPassage", "Outbox",
    "normalise_question", "validate_email",
]

HOUR = 3600.0
DAY = 86400.0
STATUSES = ("queued", "sent", "failed", "resolved")
SCHEMA_VERSION = 1
MAX_QUESTION_CHARS = 20_000
MAX_NOTE_CHARS = 10_000
MAX_PASSAGES = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS escalations (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    email TEXT,
    passages TEXT NOT NULL DEFAULT '[]',
    client TEXT NOT NULL DEFAULT '',
    recipient TEXT NOT NULL,
    policy_title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'resolved')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    lease_token TEXT,
    last_error TEXT,
    sent_at REAL,
    resolved_at REAL,
    resolution_note TEXT,
    resolution_section TEXT
);
CREATE INDEX IF NOT EXISTS escalations_due ON escalations (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS escalations_client ON escalations (client, created_at);
"""


class EscalationStateError(PolicyQAError):
    """The escalation's status does not allow this (e.g. adding an e-mail once sent)."""

    http_status = 409


@dataclass(frozen=True)
class OfferedPassage:
    """A passage the assistant offered before giving up (shown to the privacy team)."""

    section: str
    anchor: str
    url: str
    quote: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Escalation:
    id: str
    question: str
    email: str | None
    passages: tuple[OfferedPassage, ...]
    client: str
    to: str
    policy_title: str
    created_at: float
    status: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    last_error: str | None
    sent_at: float | None
    resolved_at: float | None
    resolution_note: str | None
    resolution_section: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passages"] = [p.to_dict() for p in self.passages]
        return data

    def as_contract(self) -> dict[str, str]:
        """The Answer JSON's `escalation` field."""
        return {"id": self.id, "status": self.status, "to": self.to}


@dataclass(frozen=True)
class Claim:
    """A leased escalation: only the holder of `token` may mark it sent/retry/failed."""

    escalation: Escalation
    token: str


# --- pure helpers --------------------------------------------------------------------

_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


def validate_email(addr: str, *, allow_local: bool = False) -> str:
    """Return a safe, normalised address (IDNA domain, lower-cased) or raise EmailError.

    Strict on purpose: one @, an ASCII dot-atom local part, no whitespace, CR/LF,
    control or invisible characters, RFC 5321 length limits. `allow_local` accepts a
    domain without a dot (privacy@localhost) for configured addresses.
    """
    if not isinstance(addr, str):
        raise EmailError(f"e-mail address must be text, not {type(addr).__name__}")
    shown = repr(addr[:80]) + ("…" if len(addr) > 80 else "")

    def bad(reason: str) -> EmailError:
        return EmailError(f"invalid e-mail address {shown}: {reason}")

    if any(unicodedata.category(c)[0] == "C" for c in addr):
        raise bad("it contains control or invisible characters (CR, LF, tab, ...)")
    addr = addr.strip()
    if not addr:
        raise bad("it is empty")
    if any(c.isspace() for c in addr):
        raise bad("it contains whitespace")
    if len(addr) > 254:
        raise bad("it is longer than 254 characters")
    if addr.count("@") != 1:
        raise bad("it must contain exactly one @")
    local, domain = addr.split("@")
    if not local or len(local) > 64:
        raise bad("the part before @ must be 1 to 64 characters")
    if not _LOCAL.match(local):
        raise bad("the part before @ may only use ASCII letters, digits, "
                  "!#$%&'*+/=?^_`{|}~- and single inner dots")
    if "=?" in local:
        raise bad("the part before @ looks like an encoded word (=?...), which mail "
                  "software would decode")
    return f"{local}@{_check_domain(domain, allow_local, bad)}"


def _check_domain(domain: str, allow_local: bool, bad: Callable[[str], EmailError]) -> str:
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise bad("the domain is not a valid (internationalised) domain name") from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or not all(_LABEL.match(label) for label in labels):
        raise bad("the domain must be dot-separated labels of letters, digits and "
                  "inner hyphens")
    if len(labels) < 2 and not allow_local:
        raise bad("the domain needs a dot, as in example.com")
    if labels[-1].isdigit():
        raise bad("the domain must be a name, not an IP address")
    return ascii_domain


def normalise_question(question: str) -> str:
    """The words of a question, case-folded and NFKC-normalised: the dedupe key."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return " ".join(re.findall(r"[^\W_]+", text))


def _question_key(question: str) -> str:
    return hashlib.sha256(normalise_question(question).encode("utf-8")).hexdigest()


def _client_key(secret: bytes, client: str) -> str:
    """A keyed hash of the client identifier: raw IPs never reach the disk."""
    if not client:
        return ""
    return hmac.new(secret, str(client).encode("utf-8", "replace"), "sha256").hexdigest()[:32]


def _clean_passages(passages: Iterable[Any]) -> tuple[OfferedPassage, ...]:
    """Keep only the fields the privacy team needs, from dicts or Hit-like objects."""
    out = []
    for item in list(passages or ())[:MAX_PASSAGES]:
        get = item.get if isinstance(item, Mapping) else lambda k, d=None, o=item: getattr(o, k, d)
        try:
            score = float(get("score", 0.0) or 0.0)
        except (TypeError, ValueError):
            score = 0.0
        out.append(OfferedPassage(
            section=str(get("section", "") or "")[:300],
            anchor=str(get("anchor", "") or "")[:200],
            url=str(get("url", "") or "")[:2000],
            quote=str(get("quote", "") or "")[:2000],
            score=score if math.isfinite(score) else 0.0,
        ))
    return tuple(out)


# --- SQLite --------------------------------------------------------------------------


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open outbox {str(path)!r}: {exc}") from None
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA secure_delete = ON")
        yield con
    except sqlite3.DatabaseError as exc:
        if any(s in str(exc) for s in ("not a database", "malformed", "unable to open",
                                       "readonly")):
            raise ConfigError(f"outbox {str(path)!r} is not a usable SQLite file: {exc}") from None
        raise
    finally:
        con.close()


@contextmanager
def _transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT: one writer at a time, durable once we return."""
    with _connect(path) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def _init_schema(path: Path) -> bytes:
    """Create or check the schema; return this database's client-hashing secret."""
    with _connect(path) as con:
        con.execute("PRAGMA journal_mode = WAL")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(f"outbox {str(path)!r} has schema version {version}; this "
                              f"policy-qa understands up to {SCHEMA_VERSION}")
        con.executescript(_SCHEMA)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    with _transaction(path) as con:
        con.execute("INSERT OR IGNORE INTO meta VALUES ('client_secret', ?)",
                    (secrets.token_hex(32),))
        row = con.execute("SELECT value FROM meta WHERE key = 'client_secret'").fetchone()
        return bytes.fromhex(row[0])


def _from_row(row: sqlite3.Row) -> Escalation:
    passages = tuple(OfferedPassage(**p) for p in json.loads(row["passages"] or "[]"))
    return Escalation(
        id=row["id"], question=row["question"], email=row["email"], passages=passages,
        client=row["client"], to=row["recipient"], policy_title=row["policy_title"],
        created_at=row["created_at"], status=row["status"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"], lease_until=row["lease_until"],
        last_error=row["last_error"], sent_at=row["sent_at"], resolved_at=row["resolved_at"],
        resolution_note=row["resolution_note"], resolution_section=row["resolution_section"],
    )
class Outbox:
    """Durable store of escalations in one SQLite file (WAL, synchronous=FULL).

    Every call opens its own short-lived connection, so one Outbox can be shared by
    request threads and the delivery worker, and several processes can share a file.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        dedupe_window_seconds: float,
        escalations_per_hour: int,
        retention_days: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.dedupe_window_seconds = float(dedupe_window_seconds)
        self.escalations_per_hour = int(escalations_per_hour)
        self.retention_days = float(retention_days)
        self.clock = clock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the outbox folder for {str(self.path)!r}: "
                              f"{exc.strerror or exc}") from None
        self._secret = _init_schema(self.path)

    @classmethod
    def from_settings(cls, settings: Any, *, clock: Callable[[], float] = time.time) -> Outbox:
        return cls(
            settings.outbox,
            dedupe_window_seconds=settings.dedupe_window_seconds,
            escalations_per_hour=settings.escalations_per_hour,
            retention_days=settings.retention_days,
            clock=clock,
        )

    # --- accepting questions ------------------------------------------------------

    def enqueue(
        self,
        question: str,
        *,
        to: str,
        email: str | None = None,
        passages: Iterable[Any] = (),
        client: str = "",
        policy_title: str = "",
        hold_seconds: float = 0.0,
    ) -> Escalation:
        """Commit an escalation (or return the duplicate already committed).

        `client` is any stable client identifier (an IP, a session); only a keyed hash
        of it is stored. An empty client is not rate-limited (operators, the CLI).
        """
        key, text = _check_question(question)
        to = validate_email(to, allow_local=True)
        email = _optional_email(email)
        offered = _clean_passages(passages)
        ckey = _client_key(self._secret, client)
        now = self.clock()
        with _transaction(self.path) as con:
            existing = self._duplicate(con, key, ckey, now)
            if existing is not None:
                if email and existing["status"] == "queued" and not _leased(existing, now):
                    con.execute("UPDATE escalations SET email = ? WHERE id = ?",
                                (email, existing["id"]))
                return _from_row(_fetch(con, existing["id"]))
            self._check_rate(con, client, ckey, now)
            esc_id = "esc_" + secrets.token_urlsafe(9)
            con.execute(
                "INSERT INTO escalations (id, question, question_key, email, passages,"
                " client, recipient, policy_title, created_at, status, attempts,"
                " next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?)",
                (esc_id, text, key, email, json.dumps([p.to_dict() for p in offered]),
                 ckey, to, (policy_title or "").strip()[:200], now, now + max(0.0, hold_seconds)),
            )
            return _from_row(_fetch(con, esc_id))

    def _duplicate(self, con: sqlite3.Connection, key: str, ckey: str, now: float) -> Any:
        return con.execute(
            "SELECT * FROM escalations WHERE question_key = ? AND client = ?"
            " AND created_at > ? ORDER BY created_at DESC LIMIT 1",
            (key, ckey, now - self.dedupe_window_seconds),
        ).fetchone()

    def _check_rate(self, con: sqlite3.Connection, client: str, ckey: str, now: float) -> None:
        limit = self.escalations_per_hour
        if not client or limit <= 0:
            return
        recent = con.execute(
            "SELECT created_at FROM escalations WHERE client = ? AND created_at > ?"
            " ORDER BY created_at", (ckey, now - HOUR),
        ).fetchall()
        if len(recent) >= limit:
            retry = recent[len(recent) - limit][0] + HOUR - now
            raise RateLimitedError(
                f"too many escalations from this client: {len(recent)} in the last hour "
                f"(limit {limit}); try again in {int(retry) + 1} s", retry)

    def attach_email(self, esc_id: str, email: str) -> Escalation:
        """Record the asker's reply address, only while the escalation is still queued."""
        email = validate_email(email)
        now = self.clock()
        with _transaction(self.path) as con:
            row = _fetch(con, esc_id)
            if row["status"] != "queued" or _leased(row, now):
                state = "being delivered" if row["status"] == "queued" else row["status"]
                raise EscalationStateError(
                    f"escalation {esc_id} is already {state}; an e-mail address can only "
                    "be added while it is waiting in the queue")
            con.execute("UPDATE escalations SET email = ? WHERE id = ?", (email, esc_id))
            return _from_row(_fetch(con, esc_id))

    # --- reading ------------------------------------------------------------------

    def get(self, esc_id: str) -> Escalation:
        with _connect(self.path) as con:
            return _from_row(_fetch(con, esc_id))

    def list(self, status: str | None = None, limit: int | None = 200) -> list[Escalation]:
        """Escalations newest first, optionally only one status; limit None = all."""
        where, params = ("WHERE status = ?", [_check_status(status)]) if status else ("", [])
        sql = f"SELECT * FROM escalations {where} ORDER BY created_at DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, int(limit)))
        with _connect(self.path) as con:
            return [_from_row(r) for r in con.execute(sql, params)]

    def counts(self) -> dict[str, int]:
        with _connect(self.path) as con:
            rows = dict(con.execute("SELECT status, COUNT(*) FROM escalations GROUP BY status"))
        return {s: int(rows.get(s, 0)) for s in ("queued", "sent", "failed", "resolved")}

    def health(self) -> dict[str, Any]:
        """What a health check or the console shows: durability settings and counts."""
        with _connect(self.path) as con:
            journal = con.execute("PRAGMA journal_mode").fetchone()[0]
            sync = con.execute("PRAGMA synchronous").fetchone()[0]
        return {"path": str(self.path), "journal_mode": journal,
                "synchronous": {2: "full", 3: "extra"}.get(sync, str(sync)),
                "counts": self.counts()}

    def resolved_examples(self) -> builtins.list[dict[str, str]]:
        """{"question", "section"} pairs an agent resolved with a section (not purged)."""
        with _connect(self.path) as con:
            rows = con.execute(
                "SELECT question, resolution_section FROM escalations WHERE status = 'resolved'"
                " AND resolution_section IS NOT NULL AND question != '' ORDER BY resolved_at"
            ).fetchall()
        return [{"question": q, "section": s} for q, s in rows]

    # --- agents and operators -----------------------------------------------------

    def resend(self, esc_id: str) -> Escalation:
        """Re-queue a failed (dead-letter) escalation with a fresh attempt budget."""
        with _transaction(self.path) as con:
            row = _fetch(con, esc_id)
            if row["status"] != "failed":
                raise EscalationStateError(
                    f"escalation {esc_id} is {row['status']}, not failed; only failed "
                    "escalations can be resent")
            con.execute(
                "UPDATE escalations SET status = 'queued', attempts = 0, next_attempt_at = ?,"
                " lease_until = NULL, lease_token = NULL WHERE id = ?", (self.clock(), esc_id))
            return _from_row(_fetch(con, esc_id))

    def resolve(self, esc_id: str, note: str, section: str | None = None) -> Escalation:
        """Mark as answered by an agent; `section` is the policy anchor that answers it."""
        note = (note or "").strip()
        if not note:
            raise PolicyQAError(f"a resolution note is required to resolve {esc_id}")
        if len(note) > MAX_NOTE_CHARS:
            raise PolicyQAError(f"resolution note is too long: {len(note)} characters "
                                f"(limit {MAX_NOTE_CHARS})")
        section = _check_section(section)
        with _transaction(self.path) as con:
            _fetch(con, esc_id)
            con.execute(
                "UPDATE escalations SET status = 'resolved', resolved_at = ?,"
                " resolution_note = ?, resolution_section = ? WHERE id = ?",
                (self.clock(), note, section, esc_id))
            return _from_row(_fetch(con, esc_id))

    def purge(self, now: float | None = None) -> int:
        """Blank question and e-mail of rows resolved longer ago than retention_days."""
        cutoff = (self.clock() if now is None else now) - self.retention_days * DAY
        with _transaction(self.path) as con:
            cur = con.execute(
                "UPDATE escalations SET question = '', question_key = '', email = NULL"
                " WHERE status = 'resolved' AND resolved_at < ?"
                " AND (question != '' OR email IS NOT NULL)", (cutoff,))
            count = cur.rowcount
        if count:
            with _connect(self.path) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count

    # --- delivery (used by qa/deliver.py) -----------------------------------------

    def claim_due(self, now: float | None = None, limit: int = 1, lease_seconds: float = 300.0,
                  *, due_by: float | None = None) -> builtins.list[Claim]:
        """Lease up to `limit` queued rows due by `due_by` (default `now`) whose lease is
        free at `now`, until now + lease_seconds; each claim counts as an attempt."""
        now = self.clock() if now is None else now
        due_by = now if due_by is None else due_by
        with _transaction(self.path) as con:
            ids = [r[0] for r in con.execute(
                "SELECT id FROM escalations WHERE status = 'queued' AND next_attempt_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                " ORDER BY next_attempt_at, created_at LIMIT ?", (due_by, now, int(limit)))]
            claims = []
            for esc_id in ids:
                token = secrets.token_hex(8)
                con.execute(
                    "UPDATE escalations SET lease_until = ?, lease_token = ?,"
                    " attempts = attempts + 1 WHERE id = ?", (now + lease_seconds, token, esc_id))
                claims.append(Claim(_from_row(_fetch(con, esc_id)), token))
            return claims

    def mark_sent(self, claim: Claim, now: float | None = None) -> bool:
        """The transport accepted the message. False if the lease was lost meanwhile."""
        return self._release(
            claim, "status = CASE status WHEN 'queued' THEN 'sent' ELSE status END,"
            " sent_at = ?", (self.clock() if now is None else now,), any_status=True)

    def mark_retry(self, claim: Claim, error: str, next_at: float) -> bool:
        return self._release(claim, "last_error = ?, next_attempt_at = ?",
                             (_short(error), next_at))

    def mark_failed(self, claim: Claim, error: str) -> bool:
        return self._release(claim, "status = 'failed', last_error = ?", (_short(error),))

    def _release(self, claim: Claim, sets: str, params: tuple[Any, ...],
                 any_status: bool = False) -> bool:
        only_queued = "" if any_status else " AND status = 'queued'"
        with _transaction(self.path) as con:
            cur = con.execute(
                f"UPDATE escalations SET {sets}, lease_until = NULL, lease_token = NULL"
                f" WHERE id = ? AND lease_token = ?{only_queued}",
                (*params, claim.escalation.id, claim.token))
            return cur.rowcount == 1


def _fetch(con: sqlite3.Connection, esc_id: str) -> sqlite3.Row:
    row = con.execute("SELECT * FROM escalations WHERE id = ?", (str(esc_id),)).fetchone()
    if row is None:
        raise NotFoundError(f"no escalation with id {str(esc_id)[:40]!r}")
    return row


def _optional_email(email: str | None) -> str | None:
    """None or blank means "not given"; anything else must be a valid address."""
    if email is None or (isinstance(email, str) and not email.strip()):
        return None
    return validate_email(email)


def _leased(row: sqlite3.Row, now: float) -> bool:
    return row["lease_until"] is not None and row["lease_until"] > now


def _check_question(question: str) -> tuple[str, str]:
    if not isinstance(question, str):
        raise QuestionError(f"question must be text, not {type(question).__name__}")
    text = question.strip()
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question is too long: {len(text)} characters "
                            f"(limit {MAX_QUESTION_CHARS})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError("question is not valid Unicode text (lone surrogates)") from None
    if not any(c.isalpha() for c in normalise_question(text)):
        raise QuestionError("question has no words; please rephrase it")
    return _question_key(text), text


def _check_status(status: str) -> str:
    if status not in ("queued", "sent", "failed", "resolved"):
        raise PolicyQAError(f"unknown status {status!r}; expected queued, sent, failed "
                            "or resolved")
    return status


def _check_section(section: str | None) -> str | None:
    if section is None or not section.strip():
        return None
    section = section.strip().lstrip("#")
    if len(section) > 200 or any(c.isspace() or not c.isprintable() for c in section):
        raise PolicyQAError(f"section must be a section anchor like 'how-we-use-data'; "
                            f"got {section[:60]!r}")
    return section


def _short(error: str) -> str:
    return " ".join(str(error).split())[:500]
