"""The SQLite back-end of the database layer (qa/database/), the embedded default
under the outbox (qa/escalation/), the usage analytics (qa/analytics.py) and the
rights request log (qa/rights/store.py); qa/database/postgres.py is the other one,
with the same interface.

A `Database` names one file and how to open it: short-lived autocommit connections
with the caller's pragmas (the outbox: synchronous=FULL and secure_delete; the
analytics: synchronous=NORMAL), `BEGIN ...` transactions, and `create`, which switches
the file to WAL, creates the caller's schema with its version recorded in
`PRAGMA user_version` (migrating a file of an older version first, by the caller's
statements) and returns the file's client-hashing secret. A file the user
can fix (corrupt, not SQLite, a folder, read-only) becomes a ConfigError naming it
(`unusable_file_error`); `client_hash` is the keyed hash that keeps raw client
identifiers (IPs) off the disk.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import ConfigError

__all__ = ["BEGIN_MODES", "SYNCHRONOUS", "Database", "checked_synchronous", "client_hash",
           "unusable_file_error"]

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")

# what sqlite3 says when the file itself is the problem (so the user can fix it)
_UNUSABLE = ("not a database", "malformed", "unable to open", "readonly")

# every database keeps its client-hashing secret here
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


def checked_synchronous(value: object) -> str:
    """`value` as one of SYNCHRONOUS (upper case), or ValueError: the durability setting
    both back-ends take (PostgreSQL maps it onto synchronous_commit)."""
    synchronous = str(value).upper()
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}; "
                         f"got {value!r}")
    return synchronous


def client_hash(secret: bytes, client: str) -> str:
    """A keyed hash of a client identifier (HMAC-SHA256, the first 32 hex digits), or
    "" for no client: stable for one database's secret, meaningless without it."""
    if not client:
        return ""
    digest = hmac.new(secret, str(client).encode("utf-8", "replace"), hashlib.sha256)
    return digest.hexdigest()[:32]


def unusable_file_error(exc: sqlite3.Error, label: str, path: Path) -> ConfigError | None:
    """The ConfigError for an sqlite3 error that means the file is unusable (corrupt,
    not SQLite, unopenable, read-only), naming `label` and `path`; None for any other
    error (a bug, a busy database), which should propagate as it is."""
    if not any(marker in str(exc) for marker in _UNUSABLE):
        return None
    return ConfigError(f"{label} {str(path)!r} is not a usable SQLite file: {exc}")


@dataclass(frozen=True)
class Database:
    """One SQLite file and how to open it. Immutable and safe to share between
    threads: every `connect` is a new connection, closed when the block ends.

    `label` is how error messages name the file ("outbox", "analytics database").
    """

    path: Path
    label: str = "database"
    synchronous: str = "FULL"
    secure_delete: bool = False
    timeout: float = 30.0
    # the one mutable part: what runs in this process when a transaction that announced
    # work commits (`wake_on_announce`), and which of this thread's transactions did
    _wakers: list[Callable[[], None]] = field(default_factory=list, compare=False, repr=False)
    _announced: threading.local = field(default_factory=threading.local, compare=False,
                                        repr=False)

    # what the callers' SQL needs to know of the back-end: SQLite has one writer at a
    # time (BEGIN IMMEDIATE), so a claim needs no row locks
    dialect = "sqlite"
    row_locks = False
    lock_rows = ""  # appended to a SELECT whose rows the transaction will change
    skip_locked = ""  # appended to a claim's SELECT

    @property
    def location(self) -> str:
        """How messages and health checks name the store: its file."""
        return str(self.path)

    def prepare(self) -> None:
        """Create the file's folder (ConfigError naming it if that fails)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the {self.label} folder for "
                              f"{str(self.path)!r}: {exc.strerror or exc}") from None

    def durability(self) -> tuple[str, str]:
        """(journal mode, synchronous level) of this file, e.g. ("wal", "full")."""
        with self.connect() as con:
            journal = con.execute("PRAGMA journal_mode").fetchone()[0]
            sync = con.execute("PRAGMA synchronous").fetchone()[0]
        return journal, {0: "off", 1: "normal", 2: "full", 3: "extra"}.get(sync, str(sync))

    def checkpoint(self) -> None:
        """Fold the WAL back into the file (after a purge, so blanked text is gone)."""
        with self.connect() as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def announce(self, con: sqlite3.Connection) -> None:
        """Mark the transaction `con` is in as queueing work: once it commits, the
        callbacks given to `wake_on_announce` run (this process's delivery worker;
        other processes on the file find the row at their next rescan)."""
        self._announced.flag = True

    def wake_on_announce(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` after each commit of a transaction that announced work, so a
        row queued by any path (the API, the chat, the CLI) is seen at once, never by
        a worker woken before the row was committed. Returns what unregisters it."""
        self._wakers.append(callback)
        return lambda: self._wakers.remove(callback)

    def listener(self, callback: Callable[[], None], *others: Database) -> None:
        """None: nothing to listen to (PostgresDatabase.listener has the same signature)."""
        return None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        object.__setattr__(self, "synchronous", checked_synchronous(self.synchronous))

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """An autocommit connection (rows are sqlite3.Row) with this file's pragmas.

        Failing to open, or an error inside the block that means the file is
        unusable, raises ConfigError naming the file; other errors propagate.
        """
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open {self.label} {str(self.path)!r}: {exc}") from None
        try:
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA synchronous = {self.synchronous}")
            if self.secure_delete:
                con.execute("PRAGMA secure_delete = ON")
            yield con
        except sqlite3.DatabaseError as exc:
            error = unusable_file_error(exc, self.label, self.path)
            if error is None:
                raise
            raise error from None
        finally:
            con.close()

    @contextmanager
    def transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """BEGIN `mode` ... COMMIT on a new connection; ROLLBACK if the block raises.

        IMMEDIATE (the default) takes the write lock up front: one writer at a time,
        durable (as far as `synchronous` promises) once the block has returned.
        "ROWS" (a claim that locks the rows it takes, on back-ends that can) is
        IMMEDIATE here.
        """
        mode = "IMMEDIATE" if mode == "ROWS" else mode
        if mode not in BEGIN_MODES:
            raise ValueError(f"mode must be one of {', '.join(BEGIN_MODES)}; got {mode!r}")
        with self.connect() as con:
            con.execute(f"BEGIN {mode}")
            self._announced.flag = False
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        if self._announced.flag:
            self._announced.flag = False
            for wake in list(self._wakers):
                wake()

    def create(self, schema: str, version: int,
               migrations: Mapping[int, Sequence[str]] | None = None) -> bytes:
        """Switch the file to WAL, create `schema` (and the `meta` table) where missing
        and record `version` as its user_version; return the file's client-hashing
        secret (made once, kept in `meta`). A file written by a newer schema version
        is refused with a ConfigError.

        A file of an older version is first brought up to date: `migrations[v]` are
        the statements (portable DDL such as ALTER TABLE ... ADD COLUMN) that turn
        version v-1 into v; each version's statements run in one transaction that
        also records v, so a crash or a second process never applies them twice."""
        with self.connect() as con:
            con.execute("PRAGMA journal_mode = WAL")
            found = con.execute("PRAGMA user_version").fetchone()[0]
            if found > version:
                raise ConfigError(f"{self.label} {str(self.path)!r} has schema version "
                                  f"{found}; this policy-qa understands up to {version}")
        if 0 < found < version:
            self._migrate(found, version, migrations or {})
        with self.connect() as con:
            con.executescript(_META + schema)
            con.execute(f"PRAGMA user_version = {int(version)}")
        return self.secret("client_secret")

    def secret(self, key: str) -> bytes:
        """The random 32-byte secret kept under `key` in `meta`, made by whichever
        process asks first (every process sharing the store then agrees on it)."""
        with self.transaction() as con:
            con.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, secrets.token_hex(32)))
            row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return bytes.fromhex(row[0])

    def _migrate(self, found: int, version: int,
                 migrations: Mapping[int, Sequence[str]]) -> None:
        for step in range(found + 1, version + 1):
            with self.transaction() as con:
                if con.execute("PRAGMA user_version").fetchone()[0] >= step:
                    continue  # another process got there first
                for statement in migrations.get(step, ()):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {int(step)}")
