"""The durable log of privacy rights requests (qa.rights.store): submission with its
legal due date, the state machine (refused needs a reason, one extension with its new
due date, final states), append-only history, listing by due date with filters,
counts and the on-time rate, the CSV/JSON export, and durability across stores."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from index.errors import EmailError, NotFoundError, QuestionError
from qa.rights.deadlines import due_dates
from qa.rights.records import (
    EXPORT_FIELDS,
    TRANSITIONS,
    RequestInputError,
    RequestStateError,
    to_csv,
    to_json,
)
from qa.rights.store import RequestStore, default_path
from qa.settings import Settings

INBOX = "privacy@koreroapp.example"
PASSAGES = [{
    "section": "Your rights", "anchor": "your-rights",
    "url": "https://koreroapp.com/privacy#your-rights",
    "quote": "You can ask us to delete your personal information.", "score": 0.61,
}]


def at(year: int, month: int, day: int, hour: int = 12) -> float:
    return datetime(year, month, day, hour, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(at(2027, 1, 31))


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> RequestStore:
    return RequestStore(tmp_path / "requests.sqlite3", clock=clock)


def submit(store: RequestStore, kind: str = "deletion", jurisdiction: str = "eu_uk", **kw):
    kw.setdefault("passages", PASSAGES)
    return store.submit(kind, jurisdiction, kw.pop("email", "ana@example.org"),
                        kw.pop("question", "Please delete my account and all my data"),
                        to=INBOX, **kw)


# --- submission ---------------------------------------------------------------------

def test_submit_commits_the_request_with_its_due_date(store, clock, tmp_path):
    req = submit(store, details="  Account name: ana  ", client="203.0.113.9")
    assert req.id.startswith("req_") and len(req.id) == 16
    assert req.state == "received" and req.mail_status == "queued"
    assert (req.kind, req.jurisdiction, req.email, req.to) == (
        "deletion", "eu_uk", "ana@example.org", INBOX)
    assert req.details == "Account name: ana"
    assert req.received_at == clock.now and req.received_iso == "2027-01-31T12:00:00+00:00"
    # one month from Jan 31 is Feb 28; the extension reaches three months (Apr 30)
    expected = due_dates("deletion", "eu_uk", datetime.fromtimestamp(clock.now, UTC))
    assert req.due == expected.respond_by.isoformat() == "2027-02-28"
    assert req.extendable_to == "2027-04-30" and req.extended_due is None
    assert [p.to_dict() for p in req.passages] == PASSAGES
    assert req.client and "203.0.113.9" not in req.client
    # committed before submit returned: a plain sqlite3 reader sees it
    with sqlite3.connect(tmp_path / "requests.sqlite3") as con:
        assert con.execute("SELECT state FROM requests WHERE id = ?", (req.id,)).fetchone() \
            == ("received",)
    assert [(e.from_state, e.to_state) for e in req.history] == [(None, "received")]


def test_california_gets_a_confirmation_date_and_opt_out_its_own_clock(store, clock):
    clock.now = at(2027, 3, 1)  # a Monday
    access = submit(store, "access", "california")
    assert (access.confirm_by, access.due, access.extendable_to) == (
        "2027-03-15", "2027-04-15", "2027-05-30")
    opt_out = submit(store, "opt_out", "california")
    assert (opt_out.due, opt_out.extendable_to) == ("2027-03-22", None)


@pytest.mark.parametrize(("field", "value", "error"), [
    ("kind", "erasure", RequestInputError),
    ("jurisdiction", "mars", RequestInputError),
    ("email", "ana@example.org\r\nBcc: evil@example.com", EmailError),
    ("email", "", EmailError),
    ("question", "   ", QuestionError),
    ("details", "x" * 4001, RequestInputError),
])
def test_submit_refuses_bad_input(store, field, value, error):
    args = {"kind": "deletion", "jurisdiction": "eu_uk", "email": "ana@example.org",
            "question": "Delete my data", "details": None}
    args[field] = value
    with pytest.raises(error):
        store.submit(args.pop("kind"), args.pop("jurisdiction"), args.pop("email"),
                     args.pop("question"), to=INBOX, **args)
    assert store.list() == []


def test_details_lose_control_characters_but_keep_lines(store):
    req = submit(store, details="first\r\nsecond\x00\u202e\x1b[31m")
    assert req.details == "first\nsecond[31m"


# --- the state machine ----------------------------------------------------------------

def test_the_usual_path_with_history_and_timestamps(store, clock):
    req = submit(store)
    for state, actor in (("identity_check", "sam"), ("in_progress", "sam"), ("done", "kim")):
        clock.now += 3600
        store.set_state(req.id, state, f"moved to {state}", actor)
    done = store.get(req.id)
    assert done.state == "done" and done.closed_at == clock.now and done.on_time is True
    history = store.history(req.id)
    assert [(e.from_state, e.to_state, e.actor) for e in history] == [
        (None, "received", "assistant"), ("received", "identity_check", "sam"),
        ("identity_check", "in_progress", "sam"), ("in_progress", "done", "kim")]
    assert [e.at for e in history] == [req.received_at + 3600 * n for n in range(4)]
    assert history[2].note == "moved to in_progress"
    assert history[3].to_dict()["at_iso"] == "2027-01-31T15:00:00+00:00"


@pytest.mark.parametrize("final", ["done", "refused"])
def test_final_states_allow_no_move(store, final):
    req = submit(store)
    store.set_state(req.id, "in_progress")
    store.set_state(req.id, final, reason="not our customer" if final == "refused" else "")
    for state in TRANSITIONS:
        with pytest.raises(RequestStateError, match=f"is {final}; it cannot move"):
            store.set_state(req.id, state, reason="again")
    assert store.get(req.id).state == final


def test_unknown_and_disallowed_states(store):
    req = submit(store)
    with pytest.raises(RequestInputError, match="state must be one of"):
        store.set_state(req.id, "archived")
    with pytest.raises(RequestStateError, match="received; it cannot move to done"):
        store.set_state(req.id, "done")
    with pytest.raises(NotFoundError, match="no rights request with id 'req_nope'"):
        store.set_state("req_nope", "in_progress")
    assert len(store.history(req.id)) == 1


def test_refused_needs_a_reason(store):
    req = submit(store)
    for blank in ("", "   ", None):
        with pytest.raises(RequestInputError, match="a reason is required"):
            store.set_state(req.id, "refused", note="no", reason=blank)
    refused = store.set_state(req.id, "refused", reason="identity could not be verified",
                              actor="kim")
    assert refused.state == "refused" and refused.on_time is None
    assert refused.history[-1].reason == "identity could not be verified"


def test_extended_once_with_the_new_due_date(store, clock):
    req = submit(store)
    with pytest.raises(RequestInputError, match="a reason is required"):
        store.set_state(req.id, "extended")
    clock.now = at(2027, 2, 20)
    extended = store.set_state(req.id, "extended", reason="many systems to search")
    assert extended.state == "extended"
    assert (extended.due, extended.extended_due, extended.respond_by) == (
        "2027-02-28", "2027-04-30", "2027-04-30")
    with pytest.raises(RequestStateError, match="cannot move to extended"):
        store.set_state(req.id, "extended", reason="again")
    store.set_state(req.id, "in_progress")
    with pytest.raises(RequestStateError, match="already extended to 2027-04-30; it can be "
                                                "extended only once"):  # not 02-28
        store.set_state(req.id, "extended", reason="again")
    # done in April: late for the first date, on time for the extended one
    clock.now = at(2027, 4, 30, 23)
    assert store.set_state(req.id, "done").on_time is True
    assert store.get(req.id).extended_due == "2027-04-30"


def test_extension_refused_after_the_first_due_date_or_where_none_exists(store, clock):
    late = submit(store)
    clock.now = at(2027, 3, 1)
    with pytest.raises(RequestStateError, match="must be notified by 2027-02-28"):
        store.set_state(late.id, "extended", reason="too late")
    unknown = submit(store, jurisdiction="unknown")
    with pytest.raises(RequestStateError, match="cannot be extended"):
        store.set_state(unknown.id, "extended", reason="complex")
    assert store.get(late.id).state == "received"
    assert store.get(unknown.id).extended_due is None


def test_history_is_append_only(store, tmp_path):
    req = submit(store)
    store.set_state(req.id, "in_progress", "started")
    with sqlite3.connect(tmp_path / "requests.sqlite3") as con:
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            con.execute("DELETE FROM request_events")
        with pytest.raises(sqlite3.IntegrityError, match="never changed"):
            con.execute("UPDATE request_events SET note = 'rewritten'")
    assert [e.note for e in store.history(req.id)] == ["", "started"]


# --- listing, counts, export ----------------------------------------------------------

def test_list_is_sorted_by_due_date_and_filters(store, clock):
    clock.now = at(2027, 3, 1)
    eu = submit(store, "access", "eu_uk")             # due 2027-04-01
    ca = submit(store, "access", "california")       # due 2027-04-15
    opt = submit(store, "opt_out", "california")     # due 2027-03-22
    clock.now = at(2027, 2, 1)
    early = submit(store, "deletion", "elsewhere")   # due 2027-03-01
    assert [r.id for r in store.list()] == [early.id, opt.id, eu.id, ca.id]
    assert [r.id for r in store.list(kind="access")] == [eu.id, ca.id]
    assert [r.id for r in store.list(jurisdiction="california")] == [opt.id, ca.id]
    store.set_state(eu.id, "in_progress")
    assert [r.id for r in store.list(state="in_progress")] == [eu.id]
    assert store.list(kind="access", jurisdiction="california", state="received") == \
        [store.get(ca.id)]
    with pytest.raises(RequestInputError, match="kind must be one of"):
        store.list(kind="nope")


def test_elsewhere_requests_cannot_be_extended_but_eu_ones_move_down(store, clock):
    clock.now = at(2027, 2, 1)
    first = submit(store, "access", "eu_uk")    # due 2027-03-01
    clock.now += 1  # same due date: the earlier received comes first
    second = submit(store, "access", "elsewhere", email="bo@example.org")
    clock.now = at(2027, 2, 2)
    third = submit(store, "access", "eu_uk")    # due 2027-03-02
    assert [r.id for r in store.list()] == [first.id, second.id, third.id]
    with pytest.raises(RequestStateError, match="cannot be extended"):
        store.set_state(second.id, "extended", reason="complex")
    store.set_state(first.id, "extended", reason="complex")  # now due 2027-05-01
    assert [r.id for r in store.list()] == [second.id, third.id, first.id]


def test_counts_and_on_time_rate(store, clock):
    assert store.counts()["on_time_rate"] is None
    reqs = [submit(store, kind) for kind in ("access", "access", "deletion", "correction")]
    for req in reqs[:3]:
        store.set_state(req.id, "in_progress")
    store.set_state(reqs[0].id, "done")            # on time
    clock.now = at(2027, 2, 28, 23)
    store.set_state(reqs[1].id, "done")            # on the due date: on time
    clock.now = at(2027, 3, 1, 0)
    store.set_state(reqs[2].id, "done")            # a day late
    counts = store.counts()
    assert counts["total"] == 4
    assert counts["by_kind"]["access"] == 2 and counts["by_kind"]["portability"] == 0
    assert counts["by_state"] == {"received": 1, "identity_check": 0, "in_progress": 0,
                                  "extended": 0, "done": 3, "refused": 0}
    assert (counts["done"], counts["done_on_time"]) == (3, 2)
    assert counts["on_time_rate"] == pytest.approx(2 / 3)
    assert counts["overdue"] == 1  # the correction, still received, due 2027-02-28
    assert [store.get(r.id).on_time for r in reqs] == [True, True, False, None]


def test_a_receipt_not_confirmed_in_time_is_counted_overdue_as_it_is_flagged(store, clock):
    """The analytics' "overdue now" counted late responses only, while the console's
    list and `requests list --overdue` also flag a receipt not confirmed in time: 4
    against 5 (console audit, 2026-12-08)."""
    from qa.rights.urgency import urgency

    late = submit(store, "access", "california")  # confirm within 10 business days
    clock.now = at(2027, 2, 20)
    assert late.confirm_by < "2027-02-20" < late.respond_by
    flagged = sum(urgency(r, date(2027, 2, 20)) == "overdue" for r in store.list())
    assert store.counts()["overdue"] == flagged == 1
    store.set_state(late.id, "in_progress")  # receipt confirmed by starting the work
    assert store.counts()["overdue"] == 0


def test_export_round_trips_through_csv_and_json(store, clock):
    first = submit(store, details="two\nlines, with \"quotes\"")
    submit(store, "access", "california", email="bo@example.org",
           question="=HYPERLINK(\"http://evil.example\") send me my data")
    store.set_state(first.id, "in_progress", "working", "sam")
    rows = store.export_rows()
    assert [r["id"] for r in rows] == [r.id for r in store.list()]
    assert all(list(r) == list(EXPORT_FIELDS) and all(isinstance(v, str) for v in r.values())
               for r in rows)
    assert json.loads(to_json(rows)) == [  # passages and history as arrays
        {**r, "passages": json.loads(r["passages"]), "history": json.loads(r["history"])}
        for r in rows]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    by_id = {r["id"]: r for r in parsed}
    original = {r["id"]: r for r in rows}
    # a cell that would start a spreadsheet formula is defused, everything else is as is
    formula = next(r for r in rows if r["question"].startswith("="))
    assert by_id[formula["id"]]["question"] == "'" + formula["question"]
    by_id[formula["id"]]["question"] = formula["question"]
    assert by_id == original
    row = original[first.id]
    assert row["details"] == "two\nlines, with \"quotes\""
    assert [e["to_state"] for e in json.loads(row["history"])] == ["received", "in_progress"]
    assert json.loads(row["passages"]) == PASSAGES
    assert row["received_at"] == "2027-01-31T12:00:00+00:00"


# --- durability -------------------------------------------------------------------------

def test_a_fresh_store_on_the_same_file_sees_committed_requests(tmp_path, clock):
    path = tmp_path / "sub" / "requests.sqlite3"
    first = RequestStore(path, clock=clock)
    req = submit(first, details="keep me")
    first.set_state(req.id, "identity_check", "asked for ID", "sam")
    again = RequestStore(path, clock=clock)
    assert again.get(req.id) == first.get(req.id)
    assert again.get(req.id).state == "identity_check"
    assert [e.note for e in again.history(req.id)] == ["", "asked for ID"]
    # the client hash key is kept in the file: the same client hashes the same
    other = submit(again, client="203.0.113.9")
    assert submit(first, client="203.0.113.9").client == other.client


def test_the_default_path_is_next_to_the_outbox(tmp_path):
    settings = Settings(outbox=tmp_path / "state" / "outbox.sqlite3")
    assert default_path(settings) == tmp_path / "state" / "requests.sqlite3"
    assert RequestStore.from_settings(settings).path == default_path(settings)


def test_deadlines_count_from_the_utc_day_of_receipt(store, clock):
    clock.now = datetime(2027, 1, 31, 23, 30, tzinfo=UTC).timestamp()
    assert submit(store).due == "2027-02-28"
    clock.now = datetime(2027, 2, 1, 0, 30, tzinfo=UTC).timestamp()
    assert date.fromisoformat(submit(store).due) == date(2027, 3, 1)
