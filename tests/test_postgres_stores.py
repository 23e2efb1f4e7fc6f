"""What only the PostgreSQL back-end of the stores has, on a real server (started by
tests/postgres_server.py): a schema and a client secret per store in one database,
the one migration list applied to an older store, a newer one refused, the
append-only trigger, a server that is not there as one StoreUnavailableError, a
wrong URL as a ConfigError. (The SQLite suites' behaviours re-run on PostgreSQL in
tests/test_postgres_suites.py.)
"""

from __future__ import annotations

import psycopg
import pytest
import test_analytics
from smtp_server import free_port

from index.errors import ConfigError, StoreUnavailableError
from qa.analytics import Analytics
from qa.database import client_hash, open_database
from qa.escalation import queries
from qa.escalation.outbox import Outbox
from qa.rights.store import RequestStore
from qa.settings import Settings
from ui.cli.main import main

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures

OPTIONS = {"dedupe_window_seconds": 600, "escalations_per_hour": 3, "retention_days": 30}
INBOX = "privacy@koreroapp.example"

# --- what only the PostgreSQL back-end has ----------------------------------------------


def test_each_store_has_its_own_schema_and_secret_and_no_raw_client(postgres_url: str,
                                                                    tmp_path) -> None:
    outbox = Outbox(postgres_url, **OPTIONS)
    analytics = Analytics(postgres_url)
    requests = RequestStore(postgres_url)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, client="203.0.113.7")
    analytics.record_answer(test_analytics.answer("Where is it kept?", False), "203.0.113.7")
    with psycopg.connect(postgres_url) as con:
        schemas = {r[0] for r in con.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'meta'")}
        secrets = {s: bytes.fromhex(con.execute(
            f"SELECT value FROM {s}.meta WHERE key = 'client_secret'").fetchone()[0])
            for s in ("outbox", "analytics", "rights")}
        stored = con.execute("SELECT client FROM analytics.answers").fetchone()[0]
        dumped = " ".join(str(r) for r in con.execute("SELECT * FROM outbox.escalations"))
    assert schemas == {"outbox", "analytics", "rights"}
    assert len(set(secrets.values())) == 3
    assert esc.client == client_hash(secrets["outbox"], "203.0.113.7")
    assert stored == client_hash(secrets["analytics"], "203.0.113.7")
    assert "203.0.113.7" not in dumped
    assert requests.list() == []
    # a second replica opening the same database agrees on the secret and the rows
    again = Outbox(postgres_url, **OPTIONS)
    assert again.enqueue("Do you sell my data?", to=INBOX, client="203.0.113.7").id == esc.id
    assert again.health()["journal_mode"] == "postgresql"
    assert "(schema outbox)" in str(again.path)


def test_an_older_outbox_is_migrated_by_the_one_migration_list(postgres_url: str) -> None:
    version_1 = queries.SCHEMA.replace("    page_url TEXT,\n", "").replace(
        "    conversation TEXT NOT NULL DEFAULT '[]',\n", "").replace(
        "    reason TEXT NOT NULL DEFAULT 'unanswered',\n", "").replace(
        ",\n    assignee TEXT\n", "\n")
    assert "assignee" not in version_1
    old = open_database(postgres_url, "outbox", store="outbox")
    old.create(version_1, 1)
    with old.transaction() as con:
        con.execute("INSERT INTO escalations (id, question, question_key, recipient,"
                    " created_at, status, next_attempt_at) VALUES"
                    " ('esc_old', 'Old question?', 'old question', ?, 1.5, 'queued', 1.5)",
                    (INBOX,))
    outbox = Outbox(postgres_url, **OPTIONS)
    esc = outbox.get("esc_old")
    assert (esc.question, esc.reason, esc.conversation, esc.assignee) == (
        "Old question?", "unanswered", (), None)
    assert esc.created_at == 1.5  # DOUBLE PRECISION: timestamps keep their fraction
    with psycopg.connect(postgres_url) as con:
        assert con.execute("SELECT value FROM outbox.meta WHERE key = 'schema_version'"
                           ).fetchone()[0] == str(queries.SCHEMA_VERSION)


def test_a_newer_store_is_refused(postgres_url: str) -> None:
    Outbox(postgres_url, **OPTIONS)
    with psycopg.connect(postgres_url) as con:
        con.execute("UPDATE outbox.meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ConfigError, match="schema version 99; this policy-qa understands"):
        Outbox(postgres_url, **OPTIONS)


def test_request_history_is_append_only_on_postgresql(postgres_url: str) -> None:
    store = RequestStore(postgres_url)
    request = store.submit("deletion", "eu_uk", "ana@example.org", "Delete my account",
                           to=INBOX)
    with psycopg.connect(postgres_url) as con:
        with pytest.raises(psycopg.errors.RaiseException, match="never deleted"):
            con.execute("DELETE FROM rights.request_events")
        con.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
            con.execute("UPDATE rights.request_events SET note = 'x'")
    assert len(store.get(request.id).history) == 1


def test_rights_requests_dedupe_on_postgresql_per_inbox_and_content(postgres_url: str
                                                                     ) -> None:
    """The rights dedupe query on PostgreSQL: a retried POST is the request already
    taken; another inbox, jurisdiction or details is a request of its own."""
    store = RequestStore(postgres_url, dedupe_window_seconds=3600)

    def submit(**change: str):
        request = {"jurisdiction": "eu_uk", "to": INBOX, "details": "", **change}
        return store.submit("deletion", request["jurisdiction"], "ana@example.org",
                            "Please delete my data", to=request["to"], client="192.0.2.8",
                            details=request["details"])

    first = submit()
    assert submit().id == first.id
    others = [submit(to="privacy@other.example"), submit(jurisdiction="california"),
              submit(details="my account is ana_k")]
    assert len({first.id, *(r.id for r in others)}) == 4
    assert [r.to for r in others][0] == "privacy@other.example"


def test_a_server_that_is_not_there_is_one_typed_error(tmp_path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/policyqa"
    with pytest.raises(StoreUnavailableError, match=r"outbox \(PostgreSQL at .*\) is "
                                                   "unavailable: .*refused"):
        Outbox(url, **OPTIONS)
    with pytest.raises(StoreUnavailableError, match="analytics database"):
        Analytics(url)


def test_a_wrong_database_name_is_a_config_error(postgres_server) -> None:
    with pytest.raises(ConfigError, match='cannot use the outbox at .*"no_such_db"'):
        Outbox(postgres_server.url("no_such_db"), **OPTIONS)


def test_a_user_who_may_not_create_the_schema_gets_one_line_saying_so(postgres_server,
                                                                    monkeypatch, capsys):
    """Found by following the deployment guide: a user without CREATE on the database
    stopped `serve` and every CLI command with a psycopg traceback."""
    url = postgres_server.create_database()
    with psycopg.connect(postgres_server.url(), autocommit=True) as con:
        con.execute("DROP ROLE IF EXISTS plain_user")
        con.execute("CREATE ROLE plain_user LOGIN")
    plain = url.replace("postgres@", "plain_user@")
    with pytest.raises(ConfigError, match=r"cannot set up the outbox at .*permission denied"
                                          r".* must own the database \(or hold CREATE on it\)"):
        Outbox(plain, **OPTIONS)
    monkeypatch.setenv("POLICY_QA_DATABASE_URL", plain)
    assert main(["outbox", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "hold CREATE" in err


def test_the_setting_takes_only_postgresql_urls() -> None:
    assert Settings(database_url=" postgresql://u@h/db ").database_url == "postgresql://u@h/db"
    with pytest.raises(ConfigError, match="database_url must be empty .* starts with 'mysql'"):
        Settings(database_url="mysql://u@h/db")
