"""The request log's abuse limits, as the escalation outbox has them: the same request
from the same client within the dedupe window is the request already taken (a retried
POST, a double click), and a client past its requests per hour is refused with the
wait; operators (no client) are never limited. On the real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from index.errors import RateLimitedError
from qa.rights.store import RequestStore
from qa.settings import Settings

INBOX = "privacy@koreroapp.example"
MESSAGE = "Please delete my account and all my data"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 3, 1, 9, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(tmp_path: Path, clock: Clock, window: float = 3600.0, per_hour: int = 0):
    return RequestStore(tmp_path / "requests.sqlite3", clock=clock,
                        dedupe_window_seconds=window, requests_per_hour=per_hour)


def submit(store: RequestStore, client: str = "198.51.100.4", kind: str = "deletion",
           email: str = "ana@example.org", message: str = MESSAGE, to: str = INBOX,
           jurisdiction: str = "eu_uk", details: str = ""):
    return store.submit(kind, jurisdiction, email, message, to=to, client=client,
                        details=details)


def test_a_repeat_within_the_window_is_the_same_request(tmp_path, clock):
    store = make(tmp_path, clock)
    first = submit(store)
    clock.now += 60
    again = submit(store)
    assert again == first and len(store.list()) == 1
    assert len(store.history(first.id)) == 1  # no second "received" event
    # a fresh store on the same file (another process, a restart) dedupes too
    assert submit(make(tmp_path, clock)).id == first.id


@pytest.mark.parametrize("change", [
    {"client": "203.0.113.7"}, {"kind": "access"}, {"email": "bo@example.org"},
    {"message": "Please delete my account and all my data now"},
    {"to": "privacy@other-company.example"}, {"jurisdiction": "california"},
    {"details": "my new address is 2 High St"}])
def test_another_client_kind_address_message_inbox_or_detail_is_a_new_request(
        tmp_path, clock, change):
    """A different inbox is another policy's (two indexes on one store): the request
    must reach that inbox, not be folded into the first policy's. New details or
    another jurisdiction were dropped silently (an audit: "all three got 201, the same
    id"): they make a request of their own, so nothing the visitor sent is lost."""
    store = make(tmp_path, clock)
    first = submit(store)
    second = submit(store, **change)
    assert second.id != first.id and len(store.list()) == 2
    assert second.to == change.get("to", INBOX) and store.get(first.id).to == INBOX
    for field in ("jurisdiction", "details"):
        if field in change:
            assert getattr(second, field) == change[field]


def test_after_the_window_or_once_closed_it_is_a_new_request(tmp_path, clock):
    store = make(tmp_path, clock, window=600)
    first = submit(store)
    clock.now += 601
    second = submit(store)
    assert second.id != first.id
    store.set_state(second.id, "refused", "duplicate of " + first.id, "sam",
                    reason="duplicate")
    assert submit(store).id not in (first.id, second.id)


def test_operators_without_a_client_are_never_deduped_or_limited(tmp_path, clock):
    store = make(tmp_path, clock, per_hour=1)
    ids = {submit(store, client="").id for _ in range(3)}
    assert len(ids) == 3


def test_a_client_past_its_requests_per_hour_is_refused_with_the_wait(tmp_path, clock):
    store = make(tmp_path, clock, per_hour=2)
    submit(store, message="delete my data")
    clock.now += 600
    submit(store, message="delete my account")
    clock.now += 600
    with pytest.raises(RateLimitedError, match=r"2 in the last hour \(limit 2\); "
                                               r"try again in 2401 s") as caught:
        submit(store, message="erase everything about me")
    assert caught.value.retry_after == 2400
    assert len(store.list()) == 2  # nothing stored
    assert submit(store, client="203.0.113.7").state == "received"  # others go on
    clock.now += 2401
    assert submit(store, message="erase everything about me").state == "received"


def test_from_settings_takes_the_escalations_window_and_limit(tmp_path):
    settings = Settings(outbox=tmp_path / "outbox.sqlite3", dedupe_window_seconds=120,
                        escalations_per_hour=3)
    store = RequestStore.from_settings(settings)
    assert (store.dedupe_window_seconds, store.requests_per_hour) == (120.0, 3)
    assert RequestStore.from_settings(settings, requests_per_hour=0).requests_per_hour == 0
