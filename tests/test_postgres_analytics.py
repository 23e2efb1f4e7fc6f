"""tests/test_analytics.py re-run on a real PostgreSQL: its `analytics` fixture points
at a fresh database (tests/postgres_server.py); every other test is the suite's own.
Those that read the SQLite file itself stay SQLite-only."""

from __future__ import annotations

import pytest
from test_analytics import *  # noqa: F403  (the suite's tests and fixtures)
from test_analytics import Clock

from qa.analytics import Analytics

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures

# read the SQLite file itself (PRAGMAs, bytes, sqlite3 errors): SQLite-only
SQLITE_ONLY = (
    "test_raw_client_ip_never_stored",
    "test_stored_fields",
    "test_wal_and_concurrent_writers",
    "test_batch_commits_once_and_is_invisible_until_then",
    "test_corrupt_file_is_a_clear_error",
    "test_from_settings_and_service_answer",
)
for _name in SQLITE_ONLY:
    del globals()[_name]


@pytest.fixture()
def analytics(postgres_url: str, clock: Clock) -> Analytics:
    return Analytics(postgres_url, retention_days=30, clock=clock)
