"""What an agent filters the escalation inbox by: the frozen `InboxFilter` (status,
a date range in UTC days, free text, the assignee) and `parse_filter`, which turns the
console's form values into one or raises PolicyQAError naming the bad value. The SQL
it becomes is in qa/escalation/queries.py (`filter_sql`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from index.errors import PolicyQAError
from qa.escalation.records import STATUSES

__all__ = ["ANYONE", "STATUS_CHOICES", "UNASSIGNED", "InboxFilter", "parse_filter"]

STATUS_CHOICES = ("all", "open", *STATUSES)  # open = anything not resolved
ANYONE = ""
UNASSIGNED = "(unassigned)"
MAX_TEXT_CHARS = 200


@dataclass(frozen=True)
class InboxFilter:
    """Which escalations an agent sees. `since`/`until` are UTC days, both inclusive;
    `text` matches the question, an asker's address or the id (case-insensitive);
    `assignee` is ANYONE, UNASSIGNED or a console user name."""

    status: str = "all"
    since: date | None = None
    until: date | None = None
    text: str = ""
    assignee: str = ANYONE

    def any_status(self) -> InboxFilter:
        """The same filter over every status (what the per-status counts follow)."""
        return replace(self, status="all")

    def bounds(self) -> tuple[float | None, float | None]:
        """(from, before) as epoch seconds: the start of `since`, the end of `until`."""
        start = _midnight(self.since) if self.since else None
        end = _midnight(self.until + timedelta(days=1)) if self.until else None
        return start, end


def _midnight(day: date) -> float:
    return datetime.combine(day, time(0), UTC).timestamp()


def _day(value: str | date | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PolicyQAError(f"{name} must be a date like 2026-01-31; got {text[:40]!r}") from None


def parse_filter(status: str | None = "all", since: str | date | None = None,
                 until: str | date | None = None, text: str | None = "",
                 assignee: str | None = ANYONE) -> InboxFilter:
    """An InboxFilter from form values (blank = no condition)."""
    status = status or "all"
    if status not in STATUS_CHOICES:
        raise PolicyQAError(f"unknown status {status!r}; expected one of "
                            f"{', '.join(STATUS_CHOICES)}")
    start, end = _day(since, "from"), _day(until, "to")
    if start and end and start > end:
        raise PolicyQAError(f"the date range is empty: from {start} is after to {end}")
    words = " ".join(str(text or "").split())
    if len(words) > MAX_TEXT_CHARS:
        raise PolicyQAError(f"search text is too long: {len(words)} characters "
                            f"(limit {MAX_TEXT_CHARS})")
    return InboxFilter(status, start, end, words, (assignee or ANYONE).strip())
