"""Every per-client count uses one bucket rule (qa/clients.py `bucket_of`): an IPv6
client counts as its /64 (a subscriber holds a whole /64, so per address a limit is
no limit), any other client as it is. The web limiter had it; the durable counts (the
outbox's escalations per hour and dedupe window, the rights requests per hour and
dedupe) counted the exact address. On the real SQLite files; the bucket is taken
before the keyed hash, so the PostgreSQL back-end (same SQL on `client`) counts alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import RateLimitedError
from qa.clients import bucket_of
from qa.escalation.outbox import Outbox
from qa.rights.store import RequestStore
from ui.web import rate_limit

INBOX = "privacy@koreroapp.example"
HOME, NEIGHBOUR, NEXT_64 = "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3", dedupe_window_seconds=600,
                  escalations_per_hour=2, retention_days=30, clock=Clock())


@pytest.fixture
def requests(tmp_path: Path) -> RequestStore:
    return RequestStore(tmp_path / "requests.sqlite3", clock=Clock(),
                        dedupe_window_seconds=600, requests_per_hour=2)


def test_the_bucket_rule_lives_in_qa_and_the_web_limiter_uses_it() -> None:
    assert rate_limit.bucket_of is bucket_of
    assert bucket_of(HOME) == bucket_of(NEIGHBOUR) == "2001:db8:1:2::/64"
    assert bucket_of(NEXT_64) == "2001:db8:1:3::/64"
    for client in ("192.0.2.1", "::ffff:192.0.2.3", "cli", ""):
        assert bucket_of(client) == client


def test_two_addresses_of_one_64_share_the_escalation_limit(outbox: Outbox) -> None:
    outbox.enqueue("Do you sell my data?", to=INBOX, client=HOME)
    outbox.enqueue("Where is my data stored?", to=INBOX, client=NEIGHBOUR)
    with pytest.raises(RateLimitedError, match=r"2 in the last hour \(limit 2\)"):
        outbox.enqueue("Who is your DPO?", to=INBOX, client="2001:db8:1:2:abcd::42")
    assert outbox.enqueue("Who is your DPO?", to=INBOX, client=NEXT_64).status == "queued"
    assert outbox.counts()["queued"] == 3


def test_ipv4_clients_still_count_per_address(outbox: Outbox) -> None:
    for question in ("Do you sell my data?", "Where is my data stored?"):
        outbox.enqueue(question, to=INBOX, client="192.0.2.1")
    with pytest.raises(RateLimitedError):
        outbox.enqueue("Who is your DPO?", to=INBOX, client="192.0.2.1")
    assert outbox.enqueue("Who is your DPO?", to=INBOX, client="192.0.2.2").status == "queued"


def test_the_dedupe_window_counts_the_64_too(outbox: Outbox) -> None:
    first = outbox.enqueue("Do you sell my data?", to=INBOX, client=HOME)
    again = outbox.enqueue("do you SELL my data", to=INBOX, client=NEIGHBOUR,
                           email="a@example.org")
    assert again.id == first.id and again.email == "a@example.org"
    assert again.client == first.client  # one keyed hash for the /64
    assert outbox.enqueue("Do you sell my data?", to=INBOX, client=NEXT_64).id != first.id


def submit(store: RequestStore, client: str, message: str = "Please delete my data"):
    return store.submit("deletion", "eu_uk", "ana@example.org", message, to=INBOX,
                        client=client)


def test_rights_requests_of_one_64_share_the_limit_and_the_dedupe(
        requests: RequestStore) -> None:
    first = submit(requests, HOME)
    assert submit(requests, NEIGHBOUR).id == first.id  # the same request, retried
    submit(requests, NEIGHBOUR, "Please delete my account")
    with pytest.raises(RateLimitedError, match=r"2 in the last hour \(limit 2\)"):
        submit(requests, "2001:db8:1:2:abcd::42", "Erase everything about me")
    assert submit(requests, NEXT_64, "Erase everything about me").state == "received"
    assert submit(requests, "192.0.2.1", "Erase everything about me").state == "received"
