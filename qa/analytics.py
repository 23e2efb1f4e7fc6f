"""Usage analytics for the support console: what people ask and where the policy
falls short.

One SQLite file (WAL, synchronous=NORMAL), or the `analytics` schema of the
PostgreSQL `database_url` shared by replicas (the database layer is qa/database/). Each
answered question stores its UTC day, kind, whether it was resolved, the confidence,
the top passage's anchor and the question itself (whitespace-normalised, needed for
"most frequent unresolved questions"); each thumbs-up/down stores the question and
the answer shown. Client identifiers are kept only as a keyed hash
(`qa.database.client_hash`, the key lives in the database), never as raw IPs. Rows
older than `retention_days` are deleted by `purge`, which also runs on its own at
most once an hour while recording.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from qa.database import client_hash, open_database
from qa.normalize import question_key, stored_text

__all__ = ["Analytics", "normalise"]

DAY = 86400.0
MAX_QUESTION_CHARS = 1000
MAX_ANSWER_CHARS = 4000
AUTO_PURGE_SECONDS = 3600.0
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    at REAL NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    resolved INTEGER NOT NULL,
    confidence REAL NOT NULL,
    anchor TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS answers_day ON answers (day);
CREATE INDEX IF NOT EXISTS answers_at ON answers (at);
CREATE TABLE IF NOT EXISTS feedback (
    at REAL NOT NULL,
    day TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_at ON feedback (at);
"""


class AnswerLike(Protocol):
    question: str
    resolved: bool
    confidence: float
    kind: str
    passages: Any


def normalise(question: str) -> str:
    """The question as stored: what is drawn as nothing dropped and control characters
    as spaces (qa.normalize.stored_text, as every stored visitor text), NFC, runs of
    whitespace collapsed to single spaces, capped at MAX_QUESTION_CHARS."""
    text = unicodedata.normalize("NFC", stored_text(str(question)))
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


def _key(question: str) -> str:
    """Grouping key: the one question key (qa/normalize.py), as the cache and dedupe use."""
    return question_key(question)


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


class Analytics:
    """Thread-safe: every call opens its own short-lived connection, except inside
    `batch()`, where one thread's records share one connection and one commit."""

    def __init__(self, path: str | Path, *, retention_days: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        # analytics are not worth an fsync per answer: WAL + NORMAL stays consistent
        # and at worst loses the last rows on a power cut
        self.database = open_database(path, "analytics database", store="analytics",
                                      synchronous="NORMAL")
        self.retention_days = float(retention_days)
        self.clock = clock
        self.database.prepare()
        self._local = threading.local()  # the open batch connection of this thread
        self._secret = self.database.create(_SCHEMA, SCHEMA_VERSION)
        self._last_purge = 0.0

    @property
    def path(self) -> Path | str:
        """The analytics file (on PostgreSQL: the database and schema)."""
        return self.database.path

    @classmethod
    def from_settings(cls, settings: Any, *, clock: Callable[[], float] = time.time) -> Analytics:
        target = getattr(settings, "database_url", "") or settings.analytics
        return cls(target, retention_days=settings.retention_days, clock=clock)

    # --- storage ---------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Everything this thread records inside the block goes through one connection
        and is committed once at the end (the web app's recorder writes its backlog so:
        one commit per batch instead of a connection and a commit per answer)."""
        if self._batch_connection() is not None:
            yield  # already in a batch on this thread
            return
        with self.database.transaction("DEFERRED") as con:
            self._local.con = con
            try:
                yield
            finally:
                self._local.con = None
        self._maybe_purge()

    def _batch_connection(self) -> Any | None:
        return getattr(self._local, "con", None)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        """This thread's batch connection if it is in one, else a new connection."""
        shared = self._batch_connection()
        if shared is not None:
            yield shared
            return
        with self.database.connect() as con:
            yield con

    def _insert(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._connect() as con:
            con.execute(sql, params)
        if self._batch_connection() is None:  # a batch purges after its commit
            self._maybe_purge()

    def _maybe_purge(self) -> None:
        if self.clock() - self._last_purge >= AUTO_PURGE_SECONDS:
            self.purge()

    # --- recording -------------------------------------------------------------------

    def record_answer(self, answer: AnswerLike, client: str = "") -> None:
        """Store one answered question (the Answer from Service.ask)."""
        now = self.clock()
        question = normalise(answer.question)
        passages = tuple(answer.passages or ())
        anchor = str(getattr(passages[0], "anchor", "")) if passages else ""
        self._insert(
            "INSERT INTO answers (at, day, kind, resolved, confidence, anchor, question,"
            " question_key, client) VALUES (?,?,?,?,?,?,?,?,?)",
            (now, _day(now), str(answer.kind), int(bool(answer.resolved)),
             float(answer.confidence), anchor[:200], question, _key(question),
             client_hash(self._secret, client)))

    def record_feedback(self, question: str, answer_text: str, helpful: bool,
                        client: str = "") -> None:
        """Store a thumbs up (helpful=True) or down for the answer shown."""
        now = self.clock()
        self._insert(
            "INSERT INTO feedback (at, day, helpful, question, answer, client)"
            " VALUES (?,?,?,?,?,?)",
            (now, _day(now), int(bool(helpful)), normalise(question),
             str(answer_text)[:MAX_ANSWER_CHARS], client_hash(self._secret, client)))

    def purge(self, now: float | None = None) -> int:
        """Delete rows older than retention_days; returns how many went."""
        now = self.clock() if now is None else now
        cutoff = now - self.retention_days * DAY
        with self._connect() as con:
            count = con.execute("DELETE FROM answers WHERE at < ?", (cutoff,)).rowcount
            count += con.execute("DELETE FROM feedback WHERE at < ?", (cutoff,)).rowcount
        if count and self._batch_connection() is None:
            self.database.checkpoint()
        self._last_purge = now
        return count

    # --- reports (smalltalk such as "hello" is not counted as a question) -----------

    def questions_per_day(self, days: int = 30) -> list[tuple[str, int, int]]:
        """(day, questions, resolved) for the last `days` days that had any, oldest first."""
        since = (datetime.fromtimestamp(self.clock(), UTC) - timedelta(days=days - 1))
        with self._connect() as con:
            rows = con.execute(
                "SELECT day, COUNT(*), SUM(resolved) FROM answers WHERE kind != 'smalltalk'"
                " AND day >= ? GROUP BY day ORDER BY day", (since.strftime("%Y-%m-%d"),))
            return [(d, int(t), int(r or 0)) for d, t, r in rows]

    def resolved_rate(self) -> float:
        """Share of questions answered from the policy (0.0 when none yet)."""
        with self._connect() as con:
            total, resolved = con.execute(
                "SELECT COUNT(*), SUM(resolved) FROM answers WHERE kind != 'smalltalk'"
            ).fetchone()
        return float(resolved or 0) / total if total else 0.0

    def top_unresolved(self, n: int = 10) -> list[tuple[str, int]]:
        """The most frequent unresolved questions (grouped ignoring case and
        punctuation; the latest wording is shown), most frequent first."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT (SELECT question FROM answers b WHERE b.question_key = a.question_key"
                "        AND b.resolved = 0 ORDER BY b.at DESC LIMIT 1), COUNT(*) AS c,"
                " MAX(at) AS last FROM answers a WHERE resolved = 0 AND kind = 'unresolved'"
                " GROUP BY question_key ORDER BY c DESC, last DESC LIMIT ?", (int(n),))
            return [(q, int(c)) for q, c, _ in rows]

    def thumbs_down(self, n: int = 20) -> list[dict[str, Any]]:
        """The latest unhelpful answers: {"at", "day", "question", "answer"}."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT at, day, question, answer FROM feedback WHERE helpful = 0"
                " ORDER BY at DESC LIMIT ?", (int(n),))
            return [{"at": datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"),
                     "day": day, "question": q, "answer": a} for at, day, q, a in rows]
