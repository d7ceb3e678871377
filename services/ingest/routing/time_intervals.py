"""Time intervals: when a route may trigger, in Alertmanager's ``time_intervals`` syntax (``timeinterval.go``).

A routing file names intervals at its top level and routes refer to them::

    time_intervals:
      - name: business-hours
        time_intervals:
          - times: [{start_time: "09:00", end_time: "17:00"}]
            weekdays: ["monday:friday"]
            location: Europe/Berlin
    routes:
      - name: page
        workflow: page-oncall
        active_time_intervals: [business-hours]   # or mute_time_intervals: [...]

A named interval holds at an instant when any of its entries does; an entry holds when every part it sets does
(an entry that sets nothing always holds). The parts, each a list of ranges of which one must hold:

- ``times``: ``{start_time: "HH:MM", end_time: "HH:MM"}``, the start inclusive and the end exclusive, to the
  minute; ``24:00`` ends at midnight; a range may not cross midnight (write two);
- ``weekdays``: ``monday:friday`` or ``saturday`` (names, any case; a range may not wrap past Saturday);
- ``days_of_month``: ``1:5``, ``15``, or from the month's end ``-1`` (the last day), ``-3:-1``; ranges are
  inclusive and clamped to the month (``1:31`` is the whole of February);
- ``months``: ``january:march``, ``12``, ``1:3``;
- ``years``: ``2026``, ``2026:2028``;
- ``location``: an IANA time zone (``Europe/Berlin``) in which the other parts are read; UTC by default.

The instant tested is the record's time, not the clock, so a replay decides as the live run did. What differs from
Alertmanager is said where it is (``_days_in_month``, ``_from_sexagesimal``, ``_zone``) and in docs/routing.md.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["DayRange", "MinuteRange", "TimeInterval", "TimeIntervalEntry"]

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
#: Alertmanager's pattern for a time of day: two digits each, ``00:00`` to ``23:59``, or ``24:00``. Fixed and
#: linear: stays ``re``.
_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
#: ``123``, ``-5``: the members of numeric ranges. Fixed and linear.
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")
#: The years Python's datetime can name.
MIN_YEAR, MAX_YEAR = 1, 9999


@dataclass(frozen=True)
class DayRange:
    """An inclusive range of weekdays (0 = Sunday), days of the month (negative: from the month's end, -1 being the
    last day), months (1 = January) or years."""

    begin: int
    end: int


@dataclass(frozen=True)
class MinuteRange:
    """Minutes of the day from ``start`` (inclusive) to ``end`` (exclusive): 09:00-17:00 is 540-1020."""

    start: int
    end: int


def _problem(text: str) -> PydanticCustomError:
    # A custom error reads as its own words (``value error, ...`` is pydantic's prefix for a plain ValueError).
    return PydanticCustomError("time_interval", "{text}", {"text": text})


def _from_sexagesimal(value: int) -> str:
    """The ``H:MM`` an unquoted ``17:00`` or ``1:5`` was written as.

    The routing file is read as YAML 1.1 (PyYAML), which takes an unquoted ``17:00`` for the base-60 number 1020
    and ``1:5`` for 65; Alertmanager's YAML reader (Go's yaml.v2) keeps both as text, so files written for it say
    ``start_time: 09:00`` and ``days_of_month: [1:5]`` unquoted. Such a number is read back into the text it was.
    """
    sign = "-" if value < 0 else ""
    hours, minutes = divmod(abs(value), 60)
    return f"{sign}{hours}:{minutes:02d}"


def _text(value: object, what: str, *, numbers: bool = True) -> str:
    """A range's text. A YAML number is what YAML 1.1 made of an unquoted ``a:b`` when it is 60 or more (the
    least base-60 number is ``1:00``), else its decimal text (``15``, ``-1``); weekdays take no number."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool) and numbers:
        return _from_sexagesimal(value) if abs(value) >= 60 else str(value)
    kind = "a number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__
    raise _problem(f"a {what} is text like {_EXAMPLES[what]}, not {kind}")


_EXAMPLES = {
    "weekday range": "'monday:friday'",
    "day-of-month range": "'1:5' or '-3:-1'",
    "month range": "'january:march' or '1:3'",
    "year range": "'2026:2027'",
    "time": "'09:00'",
}


def _members(text: str, what: str, member: Callable[[str], int]) -> DayRange:
    """``a:b`` or ``a`` (a range of one) read with ``member``."""
    parts = text.lower().split(":")
    if len(parts) > 2 or not all(parts):
        raise _problem(f"{text!r} is not a {what}: write {_EXAMPLES[what]}")
    begin = member(parts[0])
    return DayRange(begin, member(parts[-1]))


def _integer(text: str, what: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise _problem(f"{text!r} is not a number in a {what}")
    return int(text)


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise _problem(f"{text!r} is not a weekday; use one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS.index(text) + 1
    if not _INTEGER.fullmatch(text):
        raise _problem(f"{text!r} is not a month; use a name (january) or a number (1 to 12)")
    return int(text)


def weekday_range(value: object) -> DayRange:
    """``monday:friday`` or ``sunday``: names only, the first no later in the week (Sunday first) than the last."""
    span = _members(_text(value, "weekday range", numbers=False), "weekday range", _weekday)
    if span.begin > span.end:
        raise _problem(
            f"{WEEKDAYS[span.begin]}:{WEEKDAYS[span.end]} wraps past saturday, which Alertmanager's ranges cannot: "
            "write two ranges (e.g. 'saturday' and 'sunday')"
        )
    return span


def day_of_month_range(value: object) -> DayRange:
    """``1:5``, ``-3:-1``, ``15``: 1 to 31 or -31 to -1 (from the month's end); Alertmanager's checks exactly."""
    text = _text(value, "day-of-month range")
    span = _members(text, "day-of-month range", lambda part: _integer(part, "day-of-month range"))
    for day in (span.begin, span.end):
        if day == 0 or not -31 <= day <= 31:
            raise _problem(f"{day} is not a day of the month: use 1 to 31, or -1 (the last day) to -31")
    if span.begin < 0 < span.end:
        raise _problem(f"{text!r}: the end day must be negative when the start day is")
    # As Alertmanager: the order of a negative day is only known per month; refuse what is wrong in every month
    # (each has at least 28 days).
    if (span.begin if span.begin > 0 else 28 + span.begin) > (span.end if span.end > 0 else 28 + span.end):
        raise _problem(f"{text!r}: the end day {span.end} is always before the start day {span.begin}")
    return span


def month_range(value: object) -> DayRange:
    """``january:march``, ``1:3``, ``12``: names or numbers 1 to 12, the first no later than the last."""
    span = _members(_text(value, "month range"), "month range", _month)
    for month in (span.begin, span.end):
        # Alertmanager takes 13 and then never matches it; refused here, as the mistake it is.
        if not 1 <= month <= 12:
            raise _problem(f"{month} is not a month: use 1 to 12 or a name")
    if span.begin > span.end:
        raise _problem(f"end month {MONTHS[span.end - 1]} is before start month {MONTHS[span.begin - 1]}")
    return span


def year_range(value: object) -> DayRange:
    """``2026`` or ``2026:2028``, the first no later than the last."""
    # A year is a number as it is: 2026 is no unquoted base-60 a:b (an a:b of years, 2026:2028, stays text).
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else _text(value, "year range")
    span = _members(text, "year range", lambda part: _integer(part, "year range"))
    for year in (span.begin, span.end):
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise _problem(f"{year} is not a year: use {MIN_YEAR} to {MAX_YEAR}")
    if span.begin > span.end:
        raise _problem(f"end year {span.end} is before start year {span.begin}")
    return span


def _minute_of_day(value: object, key: str) -> int:
    text = _text(value, "time")
    if not _TIME.fullmatch(text):
        raise _problem(f"{key} {text!r} is not a time: write HH:MM, 00:00 to 23:59, or 24:00 as an end")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def time_range(value: object) -> MinuteRange:
    """``{start_time: "09:00", end_time: "17:00"}``: both required, the start before the end (no range crosses
    midnight, as in Alertmanager: write 22:00-24:00 and 00:00-06:00)."""
    if not isinstance(value, dict):
        raise _problem("a time range is {start_time: 'HH:MM', end_time: 'HH:MM'}")
    unknown = sorted(str(key) for key in value if key not in ("start_time", "end_time"))
    if unknown:
        raise _problem(f"unknown key {unknown[0]!r} in a time range; it takes start_time and end_time")
    if value.get("start_time") in (None, "") or value.get("end_time") in (None, ""):
        raise _problem("a time range needs both start_time and end_time")
    start = _minute_of_day(value["start_time"], "start_time")
    end = _minute_of_day(value["end_time"], "end_time")
    if start >= end:
        raise _problem(
            "start_time must be before end_time: a range cannot cross midnight (write two ranges, ending with "
            "24:00 and starting with 00:00)"
        )
    return MinuteRange(start, end)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``. Alertmanager (Go) also takes ``Local``, the server's own zone; refused here: the
    decision would then depend on where a replica runs."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        raise _problem(f"{name!r} is not an IANA time zone (like Europe/Berlin, America/New_York or UTC)") from None


Weekdays = Annotated[DayRange, BeforeValidator(weekday_range)]
DaysOfMonth = Annotated[DayRange, BeforeValidator(day_of_month_range)]
Months = Annotated[DayRange, BeforeValidator(month_range)]
Years = Annotated[DayRange, BeforeValidator(year_range)]
Times = Annotated[MinuteRange, BeforeValidator(time_range)]


def _days_in_month(year: int, month: int) -> int:
    # Calendar days. Alertmanager 0.25 divides the month's length in hours by 24, so in a month whose clocks move
    # forward (March in Europe/Berlin: 743 hours) it counts 30 days and its -1 is the 30th; here -1 is the 31st.
    return calendar.monthrange(year, month)[1]


def _day_in(span: DayRange, day: int, days: int) -> bool:
    """Whether ``day`` of a month of ``days`` days is in ``span`` (negative ends counted from the month's end),
    clamped to the month exactly as Alertmanager does."""
    begin = days + span.begin + 1 if span.begin < 0 else span.begin
    end = days + span.end + 1 if span.end < 0 else span.end
    if begin > days:  # a range that starts after this month's end (30:31 in February) holds on no day of it
        return False
    begin, end = max(min(begin, days), -days), max(min(end, days), -days)
    return begin <= day <= end


class TimeIntervalEntry(BaseModel):
    """One entry of a named interval's ``time_intervals``: every part it sets must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    times: list[Times] | None = Field(None, min_length=1)
    weekdays: list[Weekdays] | None = Field(None, min_length=1)
    days_of_month: list[DaysOfMonth] | None = Field(None, min_length=1)
    months: list[Months] | None = Field(None, min_length=1)
    years: list[Years] | None = Field(None, min_length=1)
    location: str | None = None

    @field_validator("location")
    @classmethod
    def _known_zone(cls, location: str | None) -> str | None:
        if location is not None:
            _zone(location)
        return location

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The zone the parts are read in (UTC when ``location`` is not set)."""
        return _zone(self.location or "UTC")

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (naive: UTC) is in this entry: its wall-clock time in ``location`` is in every part set."""
        try:
            local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(self.zone)
        except OverflowError:  # within hours of year 1 or 9999: no calendar day there to test, so not contained
            return False
        # Each part is None (not set: holds) or a non-empty list of which one range must hold.
        if self.times is not None:
            minute = local.hour * 60 + local.minute  # seconds do not count: 16:59:59 is 16:59
            if not any(span.start <= minute < span.end for span in self.times):
                return False
        if self.days_of_month is not None:
            days = _days_in_month(local.year, local.month)
            if not any(_day_in(span, local.day, days) for span in self.days_of_month):
                return False
        return (
            _in_any(self.months, local.month)
            and _in_any(self.weekdays, (local.weekday() + 1) % 7)  # Python's Monday is 0, Alertmanager's Sunday
            and _in_any(self.years, local.year)
        )


def _in_any(spans: list[DayRange] | None, value: int) -> bool:
    return spans is None or any(span.begin <= value <= span.end for span in spans)


class TimeInterval(BaseModel):
    """One named entry of the routing file's ``time_intervals``: it holds when any of its entries does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    time_intervals: list[TimeIntervalEntry] = Field(min_length=1)

    def contains(self, at: datetime) -> bool:
        """Whether any of its entries holds at ``at`` (an aware datetime; a naive one is read as UTC)."""
        return any(entry.contains(at) for entry in self.time_intervals)


def interval_names(intervals: list[Any]) -> list[str]:
    """The names of already validated intervals (for the routes' references)."""
    return [interval.name for interval in intervals if isinstance(interval, TimeInterval)]
