"""The legal clock of a rights request: by when receipt must be confirmed, the request
answered, and, if extended, answered at the latest. Pure functions of dates.

Defaults (`DEFAULT_RULES`, every figure configurable):

- "eu_uk" (GDPR / UK GDPR): respond within one month of receipt, extendable by two
  further months. A month ends on the same day of the next month, or on that month's
  last day when it has no such day (Jan 31 -> Feb 28, or Feb 29 in a leap year).
- "california" (CCPA/CPRA): confirm receipt within 10 business days, respond within 45
  calendar days, extendable once by 45. An opt-out of sale/sharing must be acted on
  within 15 business days (no confirmation, no extension).
- "us_other": 45 calendar days, extendable once by 45, as under the CCPA.
- "elsewhere": one month, no extension assumed.
- "unknown": the strictest of all four for that kind: the earliest confirmation and
  response dates, and an extension only if every regime allows one (then the
  earliest) — so "unknown" never allows an extension under the defaults.

Periods count from the day of receipt (day 0), that day being the calendar day in the
deployment's time zone (`time_zone`, UTC unless set: a request made at 19:00 in
California on 6 December is received on the 6th with "America/Los_Angeles", on the 7th
in UTC): "10 business days" from a Monday is the
Monday two weeks later. Business days skip Saturdays, Sundays and the given holidays. An
extension of the same unit as the response period counts from receipt too (one month +
two months = three months from receipt; 45 + 45 = 90 days). A deadline that falls on a
weekend or holiday is not moved.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from index.errors import ConfigError
from qa.rights.features import KINDS

JURISDICTIONS = ("eu_uk", "california", "us_other", "elsewhere", "unknown")
KNOWN = JURISDICTIONS[:-1]
Unit = Literal["days", "business_days", "months"]


@dataclass(frozen=True)
class Period:
    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.amount < 0 or self.unit not in ("days", "business_days", "months"):
            raise ConfigError(f"bad period: {self.amount} {self.unit}")


@dataclass(frozen=True)
class Clock:
    """One regime's time limits: respond within `respond`; confirm receipt within
    `confirm` (None: no confirmation required); extend by `extension` (None: no
    extension)."""

    respond: Period
    confirm: Period | None = None
    extension: Period | None = None


@dataclass(frozen=True)
class Rules:
    eu_uk: Clock = Clock(Period(1, "months"), extension=Period(2, "months"))
    california: Clock = Clock(Period(45, "days"), confirm=Period(10, "business_days"),
                              extension=Period(45, "days"))
    california_opt_out: Clock = Clock(Period(15, "business_days"))
    us_other: Clock = Clock(Period(45, "days"), extension=Period(45, "days"))
    elsewhere: Clock = Clock(Period(1, "months"))
    # kinds that run on the california_opt_out clock in California
    opt_out_kinds: frozenset[str] = field(default=frozenset({"opt_out"}))
    # the IANA time zone whose calendar day a request is received on, and days are told in
    time_zone: str = "UTC"

    def clock(self, kind: str, jurisdiction: str) -> Clock:
        if jurisdiction == "california" and kind in self.opt_out_kinds:
            return self.california_opt_out
        return getattr(self, jurisdiction)


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Deadlines:
    """`extended_to` is the latest date an extension could reach (None: not
    extendable); after `extend`, `respond_by` is that date and `extended` is True."""

    confirm_by: dt.date | None
    respond_by: dt.date
    extended_to: dt.date | None
    extended: bool = False


# --- calendar arithmetic -----------------------------------------------------------

def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the last day of that month if it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_business_day(day: dt.date, holidays: frozenset[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(day: dt.date, count: int, holidays: frozenset[dt.date]) -> dt.date:
    """The `count`-th business day after `day` (`day` itself is day 0)."""
    while count > 0:
        day += dt.timedelta(days=1)
        count -= is_business_day(day, holidays)
    return day


def add_period(day: dt.date, period: Period, holidays: frozenset[dt.date]) -> dt.date:
    if period.unit == "months":
        return add_months(day, period.amount)
    if period.unit == "business_days":
        return add_business_days(day, period.amount, holidays)
    return day + dt.timedelta(days=period.amount)


def _extended(day: dt.date, clock: Clock, holidays: frozenset[dt.date]) -> dt.date | None:
    if clock.extension is None:
        return None
    if clock.extension.unit == clock.respond.unit:
        total = Period(clock.respond.amount + clock.extension.amount, clock.respond.unit)
        return add_period(day, total, holidays)
    return add_period(add_period(day, clock.respond, holidays), clock.extension, holidays)


# --- deadlines ---------------------------------------------------------------------

def _check(kind: str, jurisdiction: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}. Currently, kind is "
                          f"{kind!r}")
    if jurisdiction not in JURISDICTIONS:
        raise ConfigError(f"jurisdiction must be one of {', '.join(JURISDICTIONS)}. "
                          f"Currently, jurisdiction is {jurisdiction!r}")


def _for_clock(day: dt.date, clock: Clock, holidays: frozenset[dt.date]) -> Deadlines:
    confirm = None if clock.confirm is None else add_period(day, clock.confirm, holidays)
    return Deadlines(confirm, add_period(day, clock.respond, holidays),
                     _extended(day, clock, holidays))


def strictest(options: Iterable[Deadlines]) -> Deadlines:
    """Earliest confirmation (if any regime requires one), earliest response, and an
    extension only when all allow one (then the earliest)."""
    options = list(options)
    confirms = [d.confirm_by for d in options if d.confirm_by is not None]
    extensions = [d.extended_to for d in options if d.extended_to is not None]
    extended_to = min(extensions) if len(extensions) == len(options) else None
    return Deadlines(min(confirms, default=None), min(d.respond_by for d in options),
                     extended_to)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` ("Europe/Berlin"); ConfigError if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"time_zone must be an IANA time zone such as "
                          f"'America/Los_Angeles'. Currently, it is {name!r}") from None


def local_day(timestamp: float, rules: Rules = DEFAULT_RULES) -> dt.date:
    """The calendar day of `timestamp` in the rules' time zone."""
    return day_in(timestamp, rules.time_zone)


def day_in(timestamp: float, time_zone: str) -> dt.date:
    """The calendar day of `timestamp` in the IANA time zone `time_zone`."""
    return dt.datetime.fromtimestamp(timestamp, zone(time_zone)).date()


def iso_day(day: dt.date | None) -> str | None:
    """A date as the request log stores it (ISO), None kept."""
    return None if day is None else day.isoformat()


def due_dates(kind: str, jurisdiction: str, received: dt.datetime | dt.date,
              rules: Rules = DEFAULT_RULES, holidays: Iterable[dt.date] = ()) -> Deadlines:
    """The deadlines of a `kind` request received at `received` (its calendar date
    counts, in whatever time zone the datetime carries)."""
    _check(kind, jurisdiction)
    day = received.date() if isinstance(received, dt.datetime) else received
    closed = frozenset(holidays)
    places = KNOWN if jurisdiction == "unknown" else (jurisdiction,)
    return strictest(_for_clock(day, rules.clock(kind, place), closed) for place in places)


def extend(deadlines: Deadlines, on: dt.date | None = None) -> Deadlines:
    """The deadlines once the extension is taken. Raises if the request cannot be
    extended, was already extended, or `on` (the day the requester is told) is after
    the original response date — the law requires notice within the first period."""
    if deadlines.extended:
        raise ConfigError(f"the deadline was already extended to {deadlines.respond_by}; "
                          "it can be extended only once")
    if deadlines.extended_to is None:
        raise ConfigError("this request's deadline cannot be extended")
    if on is not None and on > deadlines.respond_by:
        raise ConfigError(f"an extension must be notified by {deadlines.respond_by}; "
                          f"{on} is too late")
    return replace(deadlines, respond_by=deadlines.extended_to, extended=True)
