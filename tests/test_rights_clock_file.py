"""A deployment's own deadline rules and holidays (qa/rights/clock_file.py), set by
POLICY_QA_REQUEST_DEADLINES: read from TOML, used by the request log for new requests,
and every bad file, key or value named in one line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from index.errors import ConfigError
from qa.rights.clock_file import load_clock, parse_period
from qa.rights.deadlines import DEFAULT_RULES, Period, due_dates
from qa.rights.store import RequestStore
from qa.settings import load_settings

FILE = """
holidays = ["2027-01-04", 2027-01-05]

[eu_uk]
respond = "30 days"
extension = "none"

[california]
confirm = "5 business_days"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deadlines.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_file_changes_only_what_it_names(tmp_path: Path) -> None:
    rules, holidays = load_clock(write(tmp_path, FILE))
    assert holidays == {date(2027, 1, 4), date(2027, 1, 5)}
    assert rules.eu_uk.respond == Period(30, "days") and rules.eu_uk.extension is None
    assert rules.california.confirm == Period(5, "business_days")
    assert rules.california.respond == DEFAULT_RULES.california.respond
    assert rules.us_other == DEFAULT_RULES.us_other
    # Friday 2027-01-01 + 5 business days, skipping the weekend and two holidays
    got = due_dates("access", "california", date(2027, 1, 1), rules, holidays)
    assert got.confirm_by == date(2027, 1, 12)


def test_the_setting_reaches_the_request_log(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, FILE)
    monkeypatch.setenv("POLICY_QA_REQUEST_DEADLINES", str(path))
    monkeypatch.setenv("POLICY_QA_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    settings = load_settings()
    assert settings.request_deadlines == str(path)
    noon = datetime(2027, 1, 1, 12, tzinfo=UTC).timestamp()
    store = RequestStore.from_settings(settings, clock=lambda: noon)
    eu = store.submit("deletion", "eu_uk", "ana@example.org", "delete my data",
                      to="privacy@example.com")
    assert (eu.due, eu.extendable_to) == ("2027-01-31", None)  # 30 days, no extension
    ca = store.submit("access", "california", "bo@example.org", "send me my data",
                      to="privacy@example.com")
    assert ca.confirm_by == "2027-01-12"


def test_without_the_setting_the_defaults_apply(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("POLICY_QA_REQUEST_DEADLINES", raising=False)
    monkeypatch.setenv("POLICY_QA_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    store = RequestStore.from_settings(load_settings())
    assert store.rules == DEFAULT_RULES and store.holidays == frozenset()


@pytest.mark.parametrize(("text", "named"), [
    ("[eu_uk]\nrespond = \"one month\"\n", r"\[eu_uk\]\.respond must be '<whole number>"),
    ("[eu_uk]\nrespond = \"none\"\n", r"\[eu_uk\]\.respond cannot be 'none'"),
    ("[eu_uk]\nrespnd = \"1 months\"\n", r"\[eu_uk\] has unknown key 'respnd'"),
    ("[mars]\nrespond = \"1 months\"\n", r"unknown key 'mars'"),
    ("holidays = [\"25/12/2027\"]\n", r"holidays has '25/12/2027', which is not a date"),
    ("holidays = \"2027-12-25\"\n", r"holidays must be a list of dates"),
    ("opt_out_kinds = [\"erasure\"]\n", r"opt_out_kinds must be a list of kinds"),
    ("eu_uk = 3\n", r"\[eu_uk\] must be a table"),
    ("[eu_uk\n", r"cannot read the request deadlines file"),
    ("time_zone = \"Pacific Time\"\n", r"time_zone must be an IANA time zone"),
])
def test_bad_files_are_one_named_error(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_clock(write(tmp_path, text))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the request deadlines file .*nope"):
        load_clock(tmp_path / "nope.toml")


def test_periods() -> None:
    assert parse_period("45 days", "x") == Period(45, "days")
    assert parse_period(" None ", "x") is None
    with pytest.raises(ConfigError, match="x must be"):
        parse_period(45, "x")


def test_the_day_of_receipt_is_the_deployments_calendar_day(tmp_path: Path) -> None:
    """19:00 in California on 6 December 2033 is 03:00 UTC on the 7th: with the time zone
    set, the request is received on the 6th and due 45 days later (2034-01-20), its
    opt-out 15 business days later, and "today" and an extension read that zone too."""
    evening = datetime(2033, 12, 7, 3, 0, tzinfo=UTC).timestamp()
    now = [evening]
    pacific, _ = load_clock(write(tmp_path, 'time_zone = "America/Los_Angeles"\n'))
    assert pacific.time_zone == "America/Los_Angeles"
    store = RequestStore(tmp_path / "r.sqlite3", clock=lambda: now[0], rules=pacific)
    access = store.submit("access", "california", "ana@example.org", "send me my data",
                          to="privacy@example.com")
    assert access.due == "2034-01-20"
    assert store.submit("opt_out", "california", "ana@example.org", "stop selling my data",
                        to="privacy@example.com").due == "2033-12-27"
    utc = RequestStore(tmp_path / "u.sqlite3", clock=lambda: evening)
    assert utc.submit("access", "california", "bo@example.org", "send me my data",
                      to="privacy@example.com").due == "2034-01-21"  # the UTC day, the 7th
    # done at 20:00 Pacific on the due date, 04:00 UTC the day after: on time
    now[0] = datetime(2034, 1, 21, 4, 0, tzinfo=UTC).timestamp()
    store.set_state(access.id, "in_progress")
    done = store.set_state(access.id, "done")
    assert done.on_time is True and done.time_zone == "America/Los_Angeles"


def test_the_day_of_receipt_is_shown_where_the_deadlines_are(tmp_path: Path) -> None:
    """An audit: the mail, `requests list` and `requests show` gave only the UTC time,
    so a team read "received on the 7th, due the 20th" of a request the clock counts
    from the 6th. Each now shows the deployment's local time beside it."""
    from qa.rights.mail import build_request_message
    from ui.cli.requests import describe

    evening = datetime(2033, 12, 7, 3, 0, tzinfo=UTC).timestamp()
    pacific, _ = load_clock(write(tmp_path, 'time_zone = "America/Los_Angeles"\n'))
    store = RequestStore(tmp_path / "r.sqlite3", clock=lambda: evening, rules=pacific)
    access = store.submit("access", "california", "ana@example.org", "send me my data",
                          to="privacy@example.com")
    assert access.received_local == "2033-12-06 19:00 America/Los_Angeles"
    body = build_request_message(access, mail_from="policy-qa@example.com").get_content()
    assert ("Received: 2033-12-07T03:00:00+00:00 (UTC), 2033-12-06 19:00 "
            "America/Los_Angeles (the day the deadlines count from)") in body
    assert "received:     2033-12-06 19:00 America/Los_Angeles (2033-12-07T03:00" in describe(
        store.get(access.id))
    utc = RequestStore(tmp_path / "u.sqlite3", clock=lambda: evening).submit(
        "access", "california", "bo@example.org", "send me my data", to="privacy@example.com")
    body = build_request_message(utc, mail_from="policy-qa@example.com").get_content()
    assert "Received: 2033-12-07T03:00:00+00:00 (UTC)\n" in body
