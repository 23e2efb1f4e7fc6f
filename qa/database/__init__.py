"""The one database layer of policy-qa, under the outbox (qa/escalation/), the usage
analytics (qa/analytics.py), the rights request log (qa/rights/store.py) and the web
state shared between replicas (qa/database/shared.py).

Two back-ends with one interface (`connect`, `transaction`, `create` with a versioned
schema and migrations, `secret`, `durability`, `checkpoint`): SQLite files, the
embedded default (qa/database/sqlite.py), and PostgreSQL when `database_url` is a
`postgresql://` URL (qa/database/postgres.py), where every store has its own schema
in the one database. The stores write their SQL once, in SQLite's dialect; the
PostgreSQL back-end translates it (qa/database/dialect.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from index.errors import ConfigError
from qa.database.sqlite import Database, client_hash

__all__ = ["Connection", "Database", "client_hash", "is_database_url", "open_database"]

URL_SCHEMES = ("postgresql://", "postgres://")


class Connection(Protocol):
    """What the stores' SQL runs on, in SQLite's dialect: an sqlite3.Connection, or
    the PostgreSQL back-end's translating Connection. Rows index by name and position."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


def is_database_url(target: object) -> bool:
    """Whether `target` names a PostgreSQL server rather than a file."""
    return isinstance(target, str) and target.strip().lower().startswith(URL_SCHEMES)


def open_database(target: str | Path, label: str, *, store: str,
                  synchronous: str = "FULL", secure_delete: bool = False) -> Any:
    """The store `store` ("outbox", "analytics", ...) at `target`: a `postgresql://`
    URL (that store's schema in the database) or an SQLite file path. `label` is how
    error messages name it. Nothing is opened yet; the caller's `create` does."""
    if is_database_url(target):
        try:
            from qa.database.postgres import PostgresDatabase
        except ImportError as exc:  # psycopg is a dependency; a broken install says so
            raise ConfigError(f"database_url needs psycopg 3 (pip install 'psycopg[binary]'):"
                              f" {exc}") from None
        return PostgresDatabase(str(target).strip(), label, store, synchronous=synchronous,
                                secure_delete=secure_delete)
    return Database(Path(target), label, synchronous=synchronous, secure_delete=secure_delete)
