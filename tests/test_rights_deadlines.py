"""The legal clock of rights requests (qa.rights.deadlines): month ends, leap years,
business days across weekends and holidays, the CCPA opt-out clock, "unknown" as the
strictest regime, extensions, configurable rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import FrozenInstanceError, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.errors import ConfigError
from qa.rights.deadlines import (
    DEFAULT_RULES,
    JURISDICTIONS,
    Clock,
    Deadlines,
    Period,
    add_business_days,
    add_months,
    due_dates,
    extend,
    is_business_day,
)
from qa.rights.features import KINDS

D = dt.date
NO_HOLIDAYS: frozenset[dt.date] = frozenset()


# --- one month (GDPR / UK GDPR, "elsewhere") ---------------------------------------

@pytest.mark.parametrize(("received", "due"), [
    (D(2027, 3, 15), D(2027, 4, 15)),  # same day next month
    (D(2028, 1, 31), D(2028, 2, 29)),  # leap year: last day of February
    (D(2027, 1, 31), D(2027, 2, 28)),  # common year
    (D(2028, 1, 29), D(2028, 2, 29)),
    (D(2027, 1, 29), D(2027, 2, 28)),
    (D(2027, 3, 31), D(2027, 4, 30)),  # 30-day month
    (D(2027, 8, 31), D(2027, 9, 30)),
    (D(2027, 12, 31), D(2028, 1, 31)),  # across the year end
    (D(2027, 12, 15), D(2028, 1, 15)),
    (D(2028, 2, 29), D(2028, 3, 29)),
])
def test_gdpr_one_month(received: dt.date, due: dt.date) -> None:
    assert due_dates("access", "eu_uk", dt.datetime.combine(received, dt.time(9))) == \
        Deadlines(confirm_by=None, respond_by=due, extended_to=add_months(received, 3))
    assert due_dates("deletion", "elsewhere", received).respond_by == due


@pytest.mark.parametrize(("received", "extended"), [
    (D(2027, 1, 15), D(2027, 4, 15)),
    (D(2027, 1, 31), D(2027, 4, 30)),  # three months from receipt, not Feb 28 + 2
    (D(2027, 11, 30), D(2028, 2, 29)),
    (D(2026, 11, 30), D(2027, 2, 28)),
    (D(2027, 12, 31), D(2028, 3, 31)),
])
def test_gdpr_extension_is_two_further_months(received: dt.date, extended: dt.date) -> None:
    assert due_dates("correction", "eu_uk", received).extended_to == extended


def test_the_date_of_receipt_is_the_datetimes_own_calendar_date() -> None:
    late = dt.datetime(2027, 1, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    assert due_dates("access", "eu_uk", late).respond_by == D(2027, 2, 28)


def test_elsewhere_has_no_extension_by_default() -> None:
    assert due_dates("access", "elsewhere", D(2027, 5, 3)).extended_to is None


# --- CCPA / CPRA and other US states -----------------------------------------------

def test_california_confirm_in_10_business_days_and_respond_in_45_days() -> None:
    received = dt.datetime(2027, 3, 1, 10, 30)  # a Monday
    assert due_dates("deletion", "california", received) == Deadlines(
        confirm_by=D(2027, 3, 15), respond_by=D(2027, 4, 15), extended_to=D(2027, 5, 30))


def test_california_45_days_across_a_leap_day() -> None:
    assert due_dates("access", "california", D(2028, 1, 31)).respond_by == D(2028, 3, 16)
    assert due_dates("access", "california", D(2027, 1, 31)).respond_by == D(2027, 3, 17)


def test_california_opt_out_is_15_business_days_without_extension() -> None:
    received = D(2027, 3, 3)  # a Wednesday: three full weeks later
    assert due_dates("opt_out", "california", received) == Deadlines(
        confirm_by=None, respond_by=D(2027, 3, 24), extended_to=None)


def test_opt_out_business_days_skip_holidays() -> None:
    holidays = [D(2027, 7, 5), D(2027, 7, 6)]  # observed Independence Day, plus one
    assert due_dates("opt_out", "california", D(2027, 7, 1)).respond_by == D(2027, 7, 22)
    assert due_dates("opt_out", "california", D(2027, 7, 1),
                     holidays=holidays).respond_by == D(2027, 7, 26)


def test_us_other_is_45_days_extendable_by_45_with_no_confirmation() -> None:
    for kind in KINDS:
        assert due_dates(kind, "us_other", D(2027, 6, 10)) == Deadlines(
            confirm_by=None, respond_by=D(2027, 7, 25), extended_to=D(2027, 9, 8))


# --- business days -------------------------------------------------------------------

@pytest.mark.parametrize(("start", "count", "end"), [
    (D(2027, 3, 1), 1, D(2027, 3, 2)),  # Monday -> Tuesday
    (D(2027, 3, 5), 1, D(2027, 3, 8)),  # Friday -> Monday
    (D(2027, 3, 6), 1, D(2027, 3, 8)),  # received Saturday: Monday is day 1
    (D(2027, 3, 7), 5, D(2027, 3, 12)),  # received Sunday
    (D(2027, 3, 1), 10, D(2027, 3, 15)),
    (D(2027, 3, 5), 10, D(2027, 3, 19)),
    (D(2027, 3, 1), 0, D(2027, 3, 1)),
])
def test_business_days_skip_weekends(start: dt.date, count: int, end: dt.date) -> None:
    assert add_business_days(start, count, NO_HOLIDAYS) == end


def test_business_days_skip_holidays_and_weekends_together() -> None:
    christmas = frozenset({D(2027, 12, 24), D(2027, 12, 27), D(2027, 12, 28),
                           D(2027, 12, 31), D(2028, 1, 3)})
    # Thu Dec 23 -> Wed 29, Thu 30, Tue Jan 4, Wed 5, Thu 6
    assert add_business_days(D(2027, 12, 23), 5, christmas) == D(2028, 1, 6)
    assert add_business_days(D(2027, 12, 23), 5, NO_HOLIDAYS) == D(2027, 12, 30)


def test_confirmation_deadline_moves_with_holidays() -> None:
    received = D(2027, 11, 22)  # Monday of Thanksgiving week
    plain = due_dates("access", "california", received)
    closed = due_dates("access", "california", received,
                       holidays=(D(2027, 11, 25), D(2027, 11, 26)))
    assert plain.confirm_by == D(2027, 12, 6)
    assert closed.confirm_by == D(2027, 12, 8)
    assert closed.respond_by == plain.respond_by == D(2028, 1, 6)  # calendar days


@given(st.dates(D(2000, 1, 1), D(2100, 1, 1)), st.integers(0, 40),
       st.sets(st.dates(D(2000, 1, 1), D(2100, 3, 1)), max_size=20))
def test_business_day_arithmetic_properties(start: dt.date, count: int,
                                            holidays: set[dt.date]) -> None:
    closed = frozenset(holidays)
    end = add_business_days(start, count, closed)
    between = [start + dt.timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(is_business_day(d, closed) for d in between) == count
    assert count == 0 or is_business_day(end, closed)


@given(st.dates(D(1990, 1, 1), D(2100, 1, 1)), st.integers(0, 36))
def test_month_arithmetic_properties(start: dt.date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year - start.year) * 12 + end.month - start.month == months
    assert end.day == start.day or (end.day < start.day
                                    and (end + dt.timedelta(days=1)).day == 1)


# --- unknown: the strictest of all ---------------------------------------------------

@pytest.mark.parametrize("received", [D(2027, 1, 31), D(2027, 2, 1), D(2028, 1, 31),
                                      D(2027, 7, 2), D(2027, 12, 24)])
@pytest.mark.parametrize("kind", KINDS)
def test_unknown_is_never_later_than_any_jurisdiction(received: dt.date, kind: str) -> None:
    unknown = due_dates(kind, "unknown", received)
    known = [due_dates(kind, j, received) for j in JURISDICTIONS if j != "unknown"]
    assert unknown.respond_by == min(d.respond_by for d in known)
    confirms = [d.confirm_by for d in known if d.confirm_by]
    assert unknown.confirm_by == (min(confirms) if confirms else None)
    assert unknown.extended_to is None  # "elsewhere" (and the opt-out clock) allow none


def test_unknown_takes_one_month_and_californias_confirmation() -> None:
    assert due_dates("access", "unknown", D(2027, 3, 1)) == Deadlines(
        confirm_by=D(2027, 3, 15), respond_by=D(2027, 4, 1), extended_to=None)


def test_unknown_opt_out_takes_the_15_business_days() -> None:
    # 15 business days (Mar 22) beat one month (Apr 1) and 45 days (Apr 15)
    assert due_dates("opt_out", "unknown", D(2027, 3, 1)).respond_by == D(2027, 3, 22)


def test_unknown_extension_when_every_regime_allows_one() -> None:
    rules = replace(DEFAULT_RULES, elsewhere=Clock(Period(1, "months"),
                                                   extension=Period(2, "months")),
                    opt_out_kinds=frozenset())
    # three months (Apr 30) vs 90 days (May 1): the earlier one
    assert due_dates("access", "unknown", D(2027, 1, 31), rules).extended_to == D(2027, 4, 30)


# --- extend ----------------------------------------------------------------------------

def test_extend_moves_the_response_date_once() -> None:
    first = due_dates("access", "california", D(2027, 3, 1))
    extended = extend(first, on=D(2027, 4, 10))
    assert extended == replace(first, respond_by=D(2027, 5, 30), extended=True)
    with pytest.raises(ConfigError, match="only once"):
        extend(extended)


def test_extend_refuses_a_late_notice_and_an_unextendable_request() -> None:
    first = due_dates("access", "eu_uk", D(2027, 1, 31))
    assert extend(first, on=D(2027, 2, 28)).respond_by == D(2027, 4, 30)
    with pytest.raises(ConfigError, match="2027-02-28; 2027-03-01 is too late"):
        extend(first, on=D(2027, 3, 1))
    with pytest.raises(ConfigError, match="cannot be extended"):
        extend(due_dates("opt_out", "california", D(2027, 1, 4)))


# --- configuration and bad input --------------------------------------------------------

def test_rules_are_configurable() -> None:
    rules = replace(DEFAULT_RULES, eu_uk=Clock(Period(30, "days")),
                    california_opt_out=Clock(Period(10, "business_days")))
    assert due_dates("access", "eu_uk", D(2027, 1, 31), rules) == Deadlines(
        None, D(2027, 3, 2), None)
    assert due_dates("opt_out", "california", D(2027, 3, 1), rules).respond_by == \
        D(2027, 3, 15)
    with pytest.raises(FrozenInstanceError):
        DEFAULT_RULES.eu_uk = rules.eu_uk  # type: ignore[misc]


@pytest.mark.parametrize(("kind", "jurisdiction", "named"), [
    ("erasure", "eu_uk", "kind is 'erasure'"),
    ("access", "texas", "jurisdiction is 'texas'"),
])
def test_bad_kind_or_jurisdiction_is_named(kind: str, jurisdiction: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        due_dates(kind, jurisdiction, D(2027, 1, 1))


def test_bad_period_is_refused() -> None:
    with pytest.raises(ConfigError, match="-1 days"):
        Period(-1, "days")
    with pytest.raises(ConfigError, match="weeks"):
        Period(2, "weeks")  # type: ignore[arg-type]
