"""tests/test_delivery_faults.py re-run on a real PostgreSQL: its `db` fixture (the
outbox "file") points at a fresh database (tests/postgres_server.py), so the same
faults (SMTP down, 451s, a stall after storing, 550, SIGKILL after commit and
mid-send, three concurrent deliverers, the background worker) run against the
PostgreSQL back-end and its FOR UPDATE SKIP LOCKED claims."""

from __future__ import annotations

import pytest
from test_delivery_faults import *  # noqa: F403  (the suite's tests and fixtures)

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures


@pytest.fixture
def db(postgres_url: str) -> str:
    return postgres_url
