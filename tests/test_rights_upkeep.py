"""The privacy team's upkeep of the request log (qa/rights/upkeep.py): a jurisdiction
corrected after submission (its dates computed again, the change in the history), and
the retention purge (the record stays, the requester's data goes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from qa.rights.records import RequestInputError, RequestStateError
from qa.rights.store import RequestStore
from qa.rights.upkeep import purge, set_jurisdiction
from ui.cli.main import main

INBOX = "privacy@koreroapp.example"
DAY = 86400.0


@pytest.fixture
def clock():
    return [datetime(2027, 1, 31, 12, tzinfo=UTC).timestamp()]


@pytest.fixture
def store(tmp_path: Path, clock) -> RequestStore:
    return RequestStore(tmp_path / "requests.sqlite3", clock=lambda: clock[0])


def test_unknown_corrected_to_eu_takes_the_gdpr_clock_and_can_be_extended(store, clock):
    request = store.submit("access", "unknown", "ana@example.org", "send me my data",
                           to=INBOX)
    assert request.extendable_to is None  # "unknown": the strictest, no extension
    clock[0] += 3 * DAY
    eu = set_jurisdiction(store, request.id, "eu_uk", "she lives in Dublin", "sam")
    assert (eu.jurisdiction, eu.due, eu.extendable_to) == ("eu_uk", "2027-02-28",
                                                            "2027-04-30")
    assert eu.confirm_by is None and eu.state == request.state
    event = eu.history[-1]
    assert event.actor == "sam" and event.from_state == event.to_state == "received"
    assert event.note == ("jurisdiction unknown -> eu_uk, due 2027-02-28 -> 2027-02-28; "
                          "she lives in Dublin")
    extended = store.set_state(eu.id, "extended", reason="complex")  # now allowed
    assert extended.extended_due == "2027-04-30"
    with pytest.raises(RequestStateError, match="only while it is open and not extended"):
        set_jurisdiction(store, eu.id, "california")
    with pytest.raises(RequestInputError):
        set_jurisdiction(store, eu.id, "mars")


def test_the_cli_corrects_a_jurisdiction(store, tmp_path, monkeypatch, capsys):
    request = store.submit("deletion", "unknown", "bo@example.org", "delete me", to=INBOX)
    monkeypatch.setenv("POLICY_QA_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    monkeypatch.delenv("POLICY_QA_CONFIG", raising=False)
    assert main(["requests", "set-jurisdiction", request.id, "california"]) == 0
    assert f"{request.id} is now california: due 2027-03-17" in capsys.readouterr().out
    assert main(["requests", "set-jurisdiction", request.id, "nowhere"]) == 2


def test_purge_keeps_the_record_and_blanks_the_requesters_data(store, clock):
    old = store.submit("deletion", "eu_uk", "ana@example.org", "delete my data", to=INBOX,
                       details="user ana_k", passages=[{"section": "Rights", "anchor": "r",
                                                        "url": "https://x.example/#r",
                                                        "quote": "You may ask us.",
                                                        "score": 0.5}])
    open_one = store.submit("access", "eu_uk", "bo@example.org", "send me my data", to=INBOX)
    store.set_state(old.id, "in_progress")
    done = store.set_state(old.id, "done", note="deleted")
    assert purge(store, 30) == 0  # closed today
    clock[0] += 31 * DAY
    assert purge(store, 30) == 1 and purge(store, 30) == 0
    kept = store.get(done.id)
    assert (kept.email, kept.question, kept.details, kept.passages) == ("", "", "", ())
    assert (kept.kind, kept.state, kept.due, kept.on_time) == ("deletion", "done", done.due,
                                                                True)
    assert [e.to_state for e in kept.history] == ["received", "in_progress", "done"]
    assert store.get(open_one.id).email == "bo@example.org"  # open: untouched
