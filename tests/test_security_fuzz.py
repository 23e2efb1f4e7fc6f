"""Schemathesis against the app's own OpenAPI spec for /api/*: generated and mutated
requests (100 examples per operation) over real HTTP must never get a 5xx, and every
error is our JSON shape."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from web_server import serve_app

from qa.service import Service
from qa.settings import Settings
from ui.web.app import create_app


@pytest.fixture(scope="module")
def api(tmp_path_factory, korero_index_dir, korero_index, embedder):
    tmp = tmp_path_factory.mktemp("fuzz")
    config = Settings(index=korero_index_dir, outbox=tmp / "outbox.sqlite3",
                      maildir=tmp / "maildir", analytics=tmp / "analytics.sqlite3",
                      requests_per_minute=0, escalations_per_hour=100_000)
    app = create_app(config, service=Service(config, index=korero_index, embedder=embedder),
                     start_worker=False)
    with serve_app(app) as url:
        schema = schemathesis.openapi.from_dict(app.openapi()).include(path_regex="^/api/")
        yield schema, url


def test_api_never_answers_5xx(api) -> None:
    schema, url = api
    operations = [op.ok() for op in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("POST", "/api/ask"), ("POST", "/api/escalations"), ("POST", "/api/requests")}
    for operation in operations:
        calls = fuzz(operation, url)
        assert len(calls) >= 50, (operation.path, len(calls))  # really exercised


def fuzz(operation, url: str) -> list[int]:
    """Run 100 generated cases against one operation; return the statuses seen."""
    strategy, calls = operation.as_strategy(), []

    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case) -> None:
        response = case.call(base_url=url)
        calls.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, response.text

    check()
    return calls
