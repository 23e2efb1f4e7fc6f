"""tests/test_outbox.py re-run on a real PostgreSQL: its `db` (the outbox "file") and
`settings` fixtures point at a fresh database (tests/postgres_server.py); every other
test is the suite's own. Those that read the SQLite file itself stay SQLite-only."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from test_outbox import *  # noqa: F403  (the suite's tests and fixtures)
from test_outbox import DAY, INBOX, Clock, make

from qa.settings import Settings

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures

# read the SQLite file itself (PRAGMAs, bytes, sqlite3 errors): SQLite-only
SQLITE_ONLY = (
    "test_file_is_wal_with_full_sync_and_rows_survive_reopen",
    "test_client_is_stored_only_as_a_keyed_hash",
    "test_unusable_outbox_paths_are_clear_config_errors",
    "test_resolve_and_retention_purge",
    # the in-process wake-up of SQLite; on PostgreSQL NOTIFY (tests/test_postgres_listen.py)
    "test_every_commit_that_queues_mail_wakes_the_worker_after_it",
)
for _name in SQLITE_ONLY:
    del globals()[_name]


@pytest.fixture
def db(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str) -> Settings:
    return Settings(database_url=postgres_url, outbox=tmp_path / "outbox.sqlite3",
                    maildir=tmp_path / "maildir", mail_from="policy-qa@koreroapp.example",
                    smtp_host="")


def test_purge_blanks_resolved_rows_past_retention(db: str, clock: Clock) -> None:
    """The purge on PostgreSQL: no row holds the text any more. (PostgreSQL has no
    secure_delete: the old row versions stay in the table's pages until VACUUM reuses
    them, and in the WAL until it is recycled.)"""
    outbox = make(db, clock, retention_days=30)
    old = outbox.enqueue("Do you keep my voice recordings?", to=INBOX, email="a@example.org")
    outbox.resolve(old.id, "Answered by e-mail", section="how-long-do-we-keep")
    kept = outbox.enqueue("Where is my data stored?", to=INBOX, email="b@example.org")
    clock.advance(31 * DAY)
    assert outbox.purge() == 1 and outbox.purge() == 0
    with psycopg.connect(db) as con:
        rows = " ".join(str(r) for r in con.execute("SELECT * FROM outbox.escalations"))
    assert "voice recordings" not in rows and "a@example.org" not in rows
    assert outbox.get(kept.id).email == "b@example.org"
