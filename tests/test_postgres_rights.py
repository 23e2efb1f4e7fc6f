"""tests/test_rights_store.py re-run on a real PostgreSQL: its `store` fixture points
at a fresh database (tests/postgres_server.py); every other test is the suite's own.
Those that read the SQLite file itself stay SQLite-only (the append-only trigger on
PostgreSQL is in tests/test_postgres_stores.py)."""

from __future__ import annotations

import pytest
from test_rights_store import *  # noqa: F403  (the suite's tests and fixtures)
from test_rights_store import Clock

from qa.rights.store import RequestStore

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures

# read the SQLite file itself (PRAGMAs, bytes, sqlite3 errors): SQLite-only
SQLITE_ONLY = (
    "test_submit_commits_the_request_with_its_due_date",
    "test_history_is_append_only",
    "test_a_fresh_store_on_the_same_file_sees_committed_requests",
    "test_the_default_path_is_next_to_the_outbox",
)
for _name in SQLITE_ONLY:
    del globals()[_name]


@pytest.fixture
def store(postgres_url: str, clock: Clock) -> RequestStore:
    return RequestStore(postgres_url, clock=clock)
