"""Web state shared between replicas through a real PostgreSQL (tests/postgres_server.py,
qa/database/shared.py): two console mounts on one database, each served over real
HTTP on loopback as two replicas would be: a session cookie made by replica A is
valid on replica B and a logout on A rejects it on B; failed sign-ins on A lock the
user out on B; a rate limit counted by two RateLimiter instances; without a
database URL each process keeps its own state, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from smtp_server import free_port
from web_server import serve_app

from index.errors import RateLimitedError, StoreUnavailableError
from qa.analytics import Analytics
from qa.database.shared import WebState
from qa.settings import Settings
from ui.web.client_address import ClientAddressMiddleware, parse_networks
from ui.web.console.auth import COOKIE, ConsoleAuth
from ui.web.console.pages import mount_console
from ui.web.rate_limit import Rate, RateLimiter

pytest_plugins = ["postgres_server"]  # its postgres_server and postgres_url fixtures

USERS = "alice:s3cret-Pa55-long"
PASSWORD = "s3cret-Pa55-long"


@pytest.fixture
def replicas(make_service, postgres_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Base URLs of two console "replicas" (two apps, two limiters, one database)."""
    with ExitStack() as stack:
        bases = []
        for name in ("a", "b"):
            service = make_service(console_users=USERS, database_url=postgres_url,
                                   outbox=tmp_path / name / "outbox.sqlite3",
                                   analytics=tmp_path / name / "analytics.sqlite3")
            app = FastAPI()
            limiter = RateLimiter.from_settings(service.settings)
            assert limiter.shared is not None
            mount_console(app, service, service.settings, Analytics.from_settings(
                service.settings), limiter=limiter, cache=tmp_path / name / "console")
            app.add_middleware(ClientAddressMiddleware, trusted=parse_networks("127.0.0.1"))
            bases.append(stack.enter_context(serve_app(app)))
        yield bases


def login(base: str, password: str = PASSWORD) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30) as http:
        return http.post("/console/login", data={"username": "alice", "password": password},
                         headers={"Origin": base})


def config_status(base: str, token: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as http:
        http.cookies.set(COOKIE, token, path="/console")
        return http.get("/console/config").status_code


def test_a_session_from_replica_a_works_on_b_and_logout_on_a_ends_it_on_b(
        replicas: list[str]) -> None:
    a, b = replicas
    response = login(a)
    assert response.status_code == 303, response.text
    token = response.cookies.get(COOKIE)
    assert token and config_status(b, token) == 200 and config_status(a, token) == 200
    with httpx.Client(base_url=a, timeout=30) as http:
        http.cookies.set(COOKIE, token, path="/console")
        assert http.post("/console/logout", headers={"Origin": a}).status_code == 303
    assert config_status(b, token) == 401
    assert config_status(a, token) == 401
    fresh = login(b).cookies.get(COOKIE)  # a new session still works everywhere
    assert fresh and config_status(a, fresh) == 200


def test_failed_sign_ins_on_one_replica_lock_the_user_out_on_the_other(
        replicas: list[str]) -> None:
    a, b = replicas
    for i in range(5):
        assert login(a if i % 2 else b, "wrong-password").status_code == 401
    locked = login(b)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 200
    assert login(a).status_code == 429


def test_a_rate_limit_is_counted_across_two_limiters(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, requests_per_minute=3)
    one, two = RateLimiter.from_settings(settings), RateLimiter.from_settings(settings)
    one.check("203.0.113.7", "ask")
    two.check("203.0.113.7", "ask")
    one.check("203.0.113.7", "ask")
    with pytest.raises(RateLimitedError, match=r"limit 3 per minute.*try again in (19|20) s"):
        two.check("203.0.113.7", "ask")
    with pytest.raises(RateLimitedError) as refused:
        one.check("203.0.113.7", "ask")
    assert 19 < refused.value.retry_after <= 20
    two.check("198.51.100.1", "ask")  # another client has its own bucket
    two.check("203.0.113.7", "feedback")  # and so has another action


def test_shared_buckets_refill_and_refunds_stop_at_the_burst(postgres_url: str) -> None:
    now = [1_800_000_000.0]
    state = WebState(postgres_url, clock=lambda: now[0])
    limiter = RateLimiter({"login": Rate(2, 10.0)}, clock=lambda: now[0], shared=state)
    limiter.check("10.0.0.1", "login")
    limiter.check("10.0.0.1", "login")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("10.0.0.1", "login")
    assert refused.value.retry_after == 10
    now[0] += 10.0
    limiter.check("10.0.0.1", "login")
    with pytest.raises(RateLimitedError):
        limiter.check("10.0.0.1", "login")
    for _ in range(3):  # a successful sign-in's token given back, never past the burst
        limiter.refund("10.0.0.1", "login")
    limiter.check("10.0.0.1", "login")
    limiter.check("10.0.0.1", "login")
    with pytest.raises(RateLimitedError):
        limiter.check("10.0.0.1", "login")
    with state.database.connect() as con:
        clients = [r[0] for r in con.execute("SELECT client FROM rate_buckets")]
    assert clients and "10.0.0.1" not in clients  # only the keyed hash is stored
    now[0] += 7200.0
    assert state.prune(3600.0) == 1


def test_without_a_database_url_each_process_keeps_its_own_state() -> None:
    settings = Settings(console_users=USERS)
    a, b = ConsoleAuth.from_settings(settings), ConsoleAuth.from_settings(settings)
    token = a.sessions.issue("alice")
    assert a.user_for({COOKIE: token}) == "alice" and b.user_for({COOKIE: token}) is None
    assert RateLimiter.from_settings(settings).shared is None


def test_a_configured_session_secret_is_used_and_revocations_still_shared(
        postgres_url: str) -> None:
    settings = Settings(console_users=USERS, database_url=postgres_url,
                        session_secret="a-configured-secret")
    a, b = ConsoleAuth.from_settings(settings), ConsoleAuth.from_settings(settings)
    plain = ConsoleAuth.from_settings(settings.replace(database_url=""))
    token = a.sessions.issue("alice")
    assert plain.user_for({COOKIE: token}) == "alice"  # the configured key signs it
    a.sessions.revoke(token)
    assert b.user_for({COOKIE: token}) is None


def test_the_limiter_on_a_database_that_is_away_is_one_typed_error(postgres_url: str) -> None:
    limiter = RateLimiter.from_settings(Settings(database_url=postgres_url))
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/policyqa"
    away = RateLimiter({"ask": Rate(3, 20.0)}, shared=limiter.shared)
    object.__setattr__(away.shared.database, "url", url)  # the same store, server gone
    away.shared.database.close()
    with pytest.raises(StoreUnavailableError, match="web state .* unavailable"):
        away.check("203.0.113.7", "ask")
