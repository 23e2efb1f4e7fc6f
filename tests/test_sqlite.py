"""The one SQLite layer (qa/sqlite.py): errors that name the file, a stable keyed
client hash shared by the outbox and the analytics, and each caller's pragmas."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from pathlib import Path

import pytest

from index.errors import ConfigError
from qa.analytics import Analytics
from qa.escalation.outbox import Outbox
from qa.sqlite import Database, client_hash, unusable_file_error

SECRET = bytes.fromhex("ab" * 32)
OPTIONS = {"dedupe_window_seconds": 600, "escalations_per_hour": 0, "retention_days": 30}


class Answer:
    question = "Where is my data stored?"
    resolved = False
    confidence = 0.1
    kind = "unresolved"
    passages = ()


def secret_of(path: Path) -> bytes:
    with sqlite3.connect(path) as con:
        value = con.execute("SELECT value FROM meta WHERE key = 'client_secret'").fetchone()[0]
    return bytes.fromhex(value)


# --- the keyed client hash -------------------------------------------------------------


def test_client_hash_values_are_pinned() -> None:
    # the values the outbox and the analytics stored before they shared this function
    assert client_hash(SECRET, "10.0.0.1") == "3050535f23e6e726b4afbc9138cf36e8"
    assert client_hash(SECRET, "\udcff weird") == "b0037238d7085b3a9596c6988878ef94"
    assert client_hash(SECRET, "") == ""
    reference = hmac.new(SECRET, b"203.0.113.7", hashlib.sha256).hexdigest()[:32]
    assert client_hash(SECRET, "203.0.113.7") == reference
    assert client_hash(b"another key", "10.0.0.1") != client_hash(SECRET, "10.0.0.1")


def test_outbox_and_analytics_store_the_shared_hash_under_their_own_key(
        tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3", **OPTIONS)
    esc = outbox.enqueue("Do you sell my data?", to="privacy@example.com", client="10.0.0.1")
    assert esc.client == client_hash(secret_of(outbox.path), "10.0.0.1")
    assert outbox.enqueue("Who sees my data?", to="privacy@example.com").client == ""

    analytics = Analytics(tmp_path / "analytics.sqlite3")
    analytics.record_answer(Answer(), "10.0.0.1")
    with sqlite3.connect(analytics.path) as con:
        stored = con.execute("SELECT client FROM answers").fetchone()[0]
    assert stored == client_hash(secret_of(analytics.path), "10.0.0.1")
    assert secret_of(analytics.path) != secret_of(outbox.path)  # one key per database


def test_the_secret_survives_reopening(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3", "test database")
    first = db.create("CREATE TABLE IF NOT EXISTS t (x);", 1)
    assert len(first) == 32
    assert db.create("CREATE TABLE IF NOT EXISTS t (x);", 1) == first


# --- pragmas per caller -----------------------------------------------------------------


def test_outbox_is_full_sync_with_secure_delete_and_analytics_normal(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3", **OPTIONS)
    analytics = Analytics(tmp_path / "analytics.sqlite3")
    with outbox.database.connect() as con:
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert con.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == 2  # escalations v2
        assert isinstance(con.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)
    with analytics.database.connect() as con:
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1


def test_bad_parameters_name_the_value(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'sometimes'"):
        Database(tmp_path / "x.sqlite3", synchronous="sometimes")
    assert Database(tmp_path / "x.sqlite3", synchronous="normal").synchronous == "NORMAL"
    db = Database(tmp_path / "x.sqlite3")
    with pytest.raises(ValueError, match="'LATER'"), db.transaction("LATER"):
        pass


# --- transactions and schema versions -----------------------------------------------------


def test_a_transaction_commits_or_rolls_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    db.create("CREATE TABLE IF NOT EXISTS t (x INTEGER);", 1)
    with db.transaction() as con:
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), db.transaction() as con:
        con.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("boom")
    with db.connect() as con:
        assert [r[0] for r in con.execute("SELECT x FROM t")] == [1]


def test_a_newer_schema_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA user_version = 7")
    with pytest.raises(ConfigError, match=r"outbox '.*future\.sqlite3' has schema version 7"):
        Outbox(path, **OPTIONS)


# --- errors that name the file ------------------------------------------------------------


@pytest.mark.parametrize("label, make", [
    ("outbox", lambda path: Outbox(path, **OPTIONS)),
    ("analytics database", Analytics),
])
def test_unusable_files_are_config_errors_naming_the_file(tmp_path: Path, label, make) -> None:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(ConfigError, match=rf"{label} '.*corrupt\.sqlite3' is not a usable"):
        make(corrupt)
    folder = tmp_path / "a-folder.sqlite3"
    folder.mkdir()
    with pytest.raises(ConfigError, match=rf"{label} '.*a-folder\.sqlite3'"):
        make(folder)


def test_a_file_corrupted_after_opening_is_a_config_error(tmp_path: Path) -> None:
    analytics = Analytics(tmp_path / "analytics.sqlite3")
    analytics.path.write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        Path(f"{analytics.path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(ConfigError, match=r"analytics\.sqlite3"):
        analytics.resolved_rate()


def test_other_sqlite_errors_propagate_untranslated(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3", "test database")
    with pytest.raises(sqlite3.OperationalError, match="no such table"), db.connect() as con:
        con.execute("SELECT * FROM missing")
    path = Path("/data/x.sqlite3")
    assert unusable_file_error(sqlite3.OperationalError("database is locked"), "db", path) is None
    error = unusable_file_error(sqlite3.DatabaseError("database disk image is malformed"),
                                "analytics database", path)
    assert isinstance(error, ConfigError)
    assert str(error) == ("analytics database '/data/x.sqlite3' is not a usable SQLite file: "
                          "database disk image is malformed")
