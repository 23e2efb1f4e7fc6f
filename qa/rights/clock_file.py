"""The deadline rules and holidays of a deployment, read from a TOML file named by the
`request_deadlines` setting (POLICY_QA_REQUEST_DEADLINES); without one the defaults of
qa/rights/deadlines.py apply. Every key is optional; a section changes only the keys
it gives:

    time_zone = "America/Los_Angeles"   # the day of receipt and "today" (default UTC)
    holidays = ["2027-01-01", "2027-12-24", "2027-12-25"]   # skipped by business days
    opt_out_kinds = ["opt_out"]          # kinds on the california_opt_out clock

    [eu_uk]                              # also: california, california_opt_out,
    respond = "1 months"                 #       us_other, elsewhere
    extension = "2 months"               # "none": not extendable
    confirm = "none"                     # "10 business_days": confirm receipt by then

A period is "<whole number> <days | business_days | months>". A bad file, key or
value is one ConfigError naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from index.errors import ConfigError
from qa.rights.deadlines import DEFAULT_RULES, KNOWN, Clock, Period, Rules, zone
from qa.rights.features import KINDS

CLOCKS = (*KNOWN, "california_opt_out")
CLOCK_KEYS = ("respond", "confirm", "extension")
UNITS = ("days", "business_days", "months")


def parse_period(text: object, where: str) -> Period | None:
    """`"45 days"` -> Period(45, "days"); `"none"` -> None."""
    if isinstance(text, str) and text.strip().lower() == "none":
        return None
    parts = text.split() if isinstance(text, str) else []
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in UNITS:
        raise ConfigError(f"{where} must be '<whole number> <{' | '.join(UNITS)}>' or "
                          f"'none'. Currently, it is {text!r}")
    return Period(int(parts[0]), parts[1])  # type: ignore[arg-type]


def _clock(base: Clock, table: object, where: str) -> Clock:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of {', '.join(CLOCK_KEYS)}")
    unknown = sorted(set(table) - set(CLOCK_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown key {unknown[0]!r}; known: "
                          f"{', '.join(CLOCK_KEYS)}")
    changes: dict[str, Any] = {k: parse_period(v, f"{where}.{k}") for k, v in table.items()}
    if "respond" in changes and changes["respond"] is None:
        raise ConfigError(f"{where}.respond cannot be 'none': every request has a due date")
    return replace(base, **changes)


def _holidays(values: object, where: str) -> frozenset[date]:
    if not isinstance(values, list):
        raise ConfigError(f"{where} must be a list of dates (\"2027-12-25\")")
    days = set()
    for value in values:
        try:
            days.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigError(f"{where} has {value!r}, which is not a date like "
                              "2027-12-25") from None
    return frozenset(days)


def _kinds(values: object, where: str) -> frozenset[str]:
    if not isinstance(values, list) or any(v not in KINDS for v in values):
        raise ConfigError(f"{where} must be a list of kinds from {', '.join(KINDS)}. "
                          f"Currently, it is {values!r}")
    return frozenset(values)


def parse_clock(table: dict[str, Any], name: str) -> tuple[Rules, frozenset[date]]:
    """(rules, holidays) from a parsed TOML table; `name` names it in errors."""
    unknown = sorted(set(table) - {*CLOCKS, "holidays", "opt_out_kinds", "time_zone"})
    if unknown:
        raise ConfigError(f"{name}: unknown key {unknown[0]!r}; known: time_zone, holidays, "
                          f"opt_out_kinds, {', '.join(CLOCKS)}")
    rules = DEFAULT_RULES
    for clock in CLOCKS:
        if clock in table:
            rules = replace(rules, **{clock: _clock(getattr(rules, clock), table[clock],
                                                    f"{name}: [{clock}]")})
    if "opt_out_kinds" in table:
        rules = replace(rules, opt_out_kinds=_kinds(table["opt_out_kinds"],
                                                    f"{name}: opt_out_kinds"))
    if "time_zone" in table:
        try:
            zone(str(table["time_zone"]))
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
        rules = replace(rules, time_zone=str(table["time_zone"]))
    holidays = _holidays(table.get("holidays", []), f"{name}: holidays")
    return rules, holidays


def load_clock(path: Path) -> tuple[Rules, frozenset[date]]:
    """(rules, holidays) from the TOML file at `path`."""
    try:
        table = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the request deadlines file {path}: {exc}") from None
    return parse_clock(table, str(path))
