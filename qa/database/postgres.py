"""The PostgreSQL back-end of the database layer (qa/database/), selected by
`database_url = postgresql://...`: the interface of qa/database/sqlite.py's Database
over psycopg 3, so several replicas share one outbox, analytics, request log and web
state.

Each store keeps its tables in its own schema of the one database (`outbox`,
`analytics`, `rights`, `web`), reached through `search_path`, with its own `meta`
table (the client-hashing secret and the `schema_version` row that replaces SQLite's
PRAGMA user_version). The SQL the stores write for SQLite is translated by
qa/database/dialect.py. Transactions: IMMEDIATE (one writer at a time, as SQLite's
write lock) takes a transaction-scoped advisory lock of the store; "ROWS" and
DEFERRED take none, for claims that lock just the rows they take
(`FOR UPDATE SKIP LOCKED`) and for appends.

A server that is down, restarting or refusing connections becomes one
StoreUnavailableError naming the store and the reason (HTTP 503 at the web edge);
connections are pooled, checked before each use and dropped once broken, so the
first call after the server is back succeeds without restarting anything.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.pq import TransactionStatus

from index.errors import ConfigError, StoreUnavailableError
from qa.database.dialect import row_factory, translate, translate_ddl
from qa.database.listen import Listener, channel
from qa.database.sqlite import BEGIN_MODES, checked_synchronous

__all__ = ["Connection", "PostgresDatabase", "redact"]

_STORE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
# SQLSTATE classes that mean the URL itself is wrong (auth, no such database), not
# that the server is away for a while
_CONFIG_STATES = ("28", "3D")
INSUFFICIENT_PRIVILEGE = "42501"  # a user that may not create the store's schema
# the same when the server says so while connecting (psycopg gives no SQLSTATE then)
_CONFIG_MESSAGES = ("does not exist", "authentication failed", "no pg_hba.conf entry",
                    "invalid connection option", "invalid dsn", "missing \"=\"")
POOL_SIZE = 8


def redact(url: str) -> str:
    """The URL without its password, for messages and health checks."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


class Connection:
    """A psycopg connection speaking the stores' SQLite dialect: `execute` (returns the
    cursor: fetchone, fetchall, rowcount, iteration) and `executescript`."""

    def __init__(self, con: psycopg.Connection[Any]) -> None:
        self.raw = con

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        return self.raw.execute(translate(sql), params)

    def executescript(self, script: str) -> None:
        self.raw.execute(translate_ddl(script))


@dataclass(frozen=True)
class PostgresDatabase:
    """One store (`store`: its schema) in the PostgreSQL database at `url`. Safe to
    share between threads: each block borrows its own connection from the pool.

    `synchronous` FULL waits for the commit to be flushed (synchronous_commit on);
    NORMAL (the analytics) does not, as SQLite's NORMAL: at worst the last rows go on
    a crash. `secure_delete` has no PostgreSQL equivalent (purged text stays in dead
    tuples until VACUUM reuses the space) and is accepted for the same signature.
    """

    url: str
    label: str = "database"
    store: str = "main"
    synchronous: str = "FULL"
    secure_delete: bool = False
    timeout: float = 30.0
    _pool: list[psycopg.Connection[Any]] = field(default_factory=list, repr=False,
                                                 compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    dialect = "postgresql"
    row_locks = True
    lock_rows = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __post_init__(self) -> None:
        if not _STORE_NAME.match(self.store):
            raise ValueError(f"store must be a lower-case identifier; got {self.store!r}")
        object.__setattr__(self, "synchronous", checked_synchronous(self.synchronous))

    @property
    def location(self) -> str:
        return f"{redact(self.url)} (schema {self.store})"

    @property
    def path(self) -> str:
        """What the SQLite back-end calls its file: here the location."""
        return self.location

    def prepare(self) -> None:
        """Nothing to create on disk."""

    # --- connections ------------------------------------------------------------------

    def _error(self, exc: psycopg.Error) -> Exception:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        state = getattr(exc, "sqlstate", None) or ""
        if state[:2] in _CONFIG_STATES or any(m in reason for m in _CONFIG_MESSAGES):
            return ConfigError(f"cannot use the {self.label} at {redact(self.url)}: {reason}")
        return StoreUnavailableError(
            f"the {self.label} (PostgreSQL at {redact(self.url)}) is unavailable: {reason}")

    def _open(self) -> psycopg.Connection[Any]:
        sync = "on" if self.synchronous in ("FULL", "EXTRA") else "off"
        options = (f"-c search_path={self.store} -c synchronous_commit={sync}"
                   f" -c lock_timeout={int(self.timeout * 1000)}")
        return psycopg.connect(self.url, autocommit=True, row_factory=row_factory,
                               connect_timeout=max(1, int(min(self.timeout, 10))),
                               options=options)

    def _borrow(self) -> psycopg.Connection[Any]:
        while True:
            with self._lock:
                con = self._pool.pop() if self._pool else None
            if con is None:
                return self._open()
            try:
                con.execute("SELECT 1")  # a server restart leaves pooled connections dead
                return con
            except psycopg.Error:
                con.close()

    def _give_back(self, con: psycopg.Connection[Any]) -> None:
        if not con.closed and con.info.transaction_status == TransactionStatus.IDLE:
            with self._lock:
                if len(self._pool) < POOL_SIZE:
                    self._pool.append(con)
                    return
        con.close()

    def close(self) -> None:
        """Close the pooled connections (tests; a process exiting needs not)."""
        with self._lock:
            pool, self._pool[:] = list(self._pool), []
        for con in pool:
            con.close()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """An autocommit connection in this store's schema. A server that is away
        raises StoreUnavailableError (a wrong URL ConfigError); others propagate."""
        try:
            con = self._borrow()
        except psycopg.Error as exc:
            raise self._error(exc) from None
        try:
            yield Connection(con)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            con.close()
            raise self._error(exc) from None
        finally:
            self._give_back(con)

    @contextmanager
    def transaction(self, mode: str = "IMMEDIATE") -> Iterator[Connection]:
        """BEGIN ... COMMIT; ROLLBACK if the block raises. IMMEDIATE and EXCLUSIVE
        serialise the store's writers (an advisory lock held until the end), "ROWS"
        and DEFERRED leave locking to the statements (FOR UPDATE SKIP LOCKED)."""
        if mode not in (*BEGIN_MODES, "ROWS"):
            raise ValueError(f"mode must be one of {', '.join(BEGIN_MODES)} or ROWS; "
                             f"got {mode!r}")
        with self.connect() as con:
            con.raw.execute("BEGIN")
            try:
                if mode in ("IMMEDIATE", "EXCLUSIVE"):
                    con.raw.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key(),))
                yield con
            except BaseException:
                if not con.raw.closed:
                    try:
                        con.raw.execute("ROLLBACK")
                    except psycopg.Error:
                        con.raw.close()
                raise
            con.raw.execute("COMMIT")

    def _lock_key(self) -> int:
        digest = hashlib.sha256(f"policy-qa store {self.store}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    # --- schema -----------------------------------------------------------------------

    def create(self, schema: str, version: int,
               migrations: Mapping[int, Sequence[str]] | None = None) -> bytes:
        """Create the store's schema, `meta` and `schema` where missing, after
        migrating an older version by `migrations` (each step with its recorded
        version, all in one transaction under the store's lock, so two replicas
        starting together never apply a step twice); return the client-hashing
        secret. A store written by a newer version is refused with a ConfigError, and so
        is a user who may not create the schema (one line, not a traceback)."""
        try:
            return self._create(schema, version, migrations)
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise  # a failing migration is a bug to see whole, not an outage
            reason = " ".join(str(exc).split())[:200]
            raise ConfigError(
                f"cannot set up the {self.label} at {redact(self.url)}: {reason}; the "
                "database user must own the database (or hold CREATE on it) and the "
                "tables policy-qa made there (README, Deployment)") from None

    def _create(self, schema: str, version: int,
                migrations: Mapping[int, Sequence[str]] | None) -> bytes:
        with self.transaction() as con:
            con.raw.execute(f"CREATE SCHEMA IF NOT EXISTS {self.store}")
            con.executescript(_META)
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            found = int(row[0]) if row else 0
            if found > version:
                raise ConfigError(f"{self.label} at {self.location} has schema version "
                                  f"{found}; this policy-qa understands up to {version}")
            for step in range(found + 1, version + 1) if found else ():
                for statement in (migrations or {}).get(step, ()):
                    con.raw.execute(translate_ddl(statement))
            con.executescript(schema)
            con.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key)"
                        " DO UPDATE SET value = excluded.value", (str(int(version)),))
        return self.secret("client_secret")

    def secret(self, key: str) -> bytes:
        """The random 32-byte secret kept under `key` in `meta` (made once, by whichever
        replica asks first)."""
        with self.transaction("DEFERRED") as con:
            con.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, secrets.token_hex(32)))
            row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return bytes.fromhex(row[0])

    # --- what the SQLite back-end does with PRAGMAs -----------------------------------

    def durability(self) -> tuple[str, str]:
        """("postgresql", synchronous_commit), e.g. ("postgresql", "on")."""
        with self.connect() as con:
            sync = con.execute("SHOW synchronous_commit").fetchone()[0]
        return "postgresql", str(sync)

    def checkpoint(self) -> None:
        """Nothing: PostgreSQL checkpoints on its own."""

    # --- cross-replica wake-ups (qa/database/listen.py) --------------------------------

    @property
    def channel(self) -> str:
        return channel(self.store)

    def announce(self, con: Connection) -> None:
        """Tell every replica's Listener that this store has new work, when the
        transaction `con` is in commits (NOTIFY is transactional)."""
        con.raw.execute("SELECT pg_notify(%s, '')", (self.channel,))

    def wake_on_announce(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Nothing here: the Listener hears this replica's own NOTIFYs too, on commit."""
        return lambda: None

    def listener(self, callback: Callable[[], None], *others: PostgresDatabase) -> Listener:
        """A Listener (not started) calling `callback` when this store or `others`
        (stores of the same database) announce work."""
        return Listener(self.url, [self.channel, *(o.channel for o in others)], callback)
