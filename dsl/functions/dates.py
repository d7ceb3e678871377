"""Date, time and duration functions. Datetimes are ISO-8601 strings, always returned in UTC.

There is no ``now()``: evaluation must be deterministic (it runs inside the Temporal workflow), so the time of a
run comes from ``ENV.start_time``. A datetime without an offset is taken to be UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dsl.functions.args import fail, number, text
from dsl.functions.previews import quoted
from dsl.functions.registry import function

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Fixed, and linear by construction (optional groups of bounded digit runs, in order): stays ``re``, not RE2.
_DURATION = re.compile(
    r"(-)?(?:(\d{1,9})w)?(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9}(?:\.\d{1,9})?)s)?", re.ASCII
)
#: strftime directives that do not depend on the locale (names of days and months do).
_FORMAT_DIRECTIVES = set("YmdHMSfzjyZ%")


def _datetime(name: str, value: Any, what: str = "datetime") -> datetime:
    source = text(name, value, what)
    if len(source) > 64:
        raise fail(name, f"{what} is not an ISO-8601 datetime (too long)")
    try:
        parsed = datetime.fromisoformat(source)
    except ValueError:
        raise fail(name, f"{what} {quoted(source)} is not an ISO-8601 datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _shift(name: str, moment: datetime, seconds: float) -> str:
    try:
        return _iso(moment + timedelta(seconds=seconds))
    except OverflowError:
        raise fail(name, "the result is outside the years 1 to 9999") from None


def _whole(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else seconds


@function("parse_datetime")
def parse_datetime(value: Any) -> str:
    """An ISO-8601 datetime normalised to UTC ("2024-05-01T12:00:00+02:00" -> "2024-05-01T10:00:00+00:00")."""
    return _iso(_datetime("parse_datetime", value))


@function("format_datetime")
def format_datetime(value: Any, pattern: Any) -> str:
    """A datetime written with strftime directives %Y %m %d %H %M %S %f %z %Z %j %y %% (in UTC)."""
    layout = text("format_datetime", pattern, "format")
    for directive in re.findall(r"%(.?)", layout):
        if directive not in _FORMAT_DIRECTIVES:
            raise fail(
                "format_datetime", f"unsupported directive '%{directive}' (use %Y %m %d %H %M %S %f %z %Z %j %y)"
            )
    if len(layout) > 200:
        raise fail("format_datetime", "format is longer than 200 characters")
    return _datetime("format_datetime", value).strftime(layout)


@function("to_timestamp")
def to_timestamp(value: Any) -> int | float:
    """Seconds since 1970-01-01T00:00:00Z of a datetime."""
    return _whole((_datetime("to_timestamp", value) - _EPOCH).total_seconds())


@function("from_timestamp")
def from_timestamp(seconds: Any) -> str:
    """The UTC datetime ``seconds`` after 1970-01-01T00:00:00Z."""
    return _shift("from_timestamp", _EPOCH, number("from_timestamp", seconds, "seconds"))


@function("add_seconds")
def add_seconds(value: Any, seconds: Any) -> str:
    """A datetime moved by ``seconds`` (negative moves back)."""
    return _shift("add_seconds", _datetime("add_seconds", value), number("add_seconds", seconds, "seconds"))


def _duration(name: str, value: Any) -> int | float:
    source = text(name, value, "duration").strip()
    match = _DURATION.fullmatch(source) if len(source) <= 64 else None
    if match is None or not any(match.groups()[1:]):
        raise fail(name, f"duration {quoted(source)} is not like '1h30m' (units w, d, h, m, s)")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    total = sum(int(part or 0) * unit for part, unit in ((weeks, 604800), (days, 86400), (hours, 3600), (minutes, 60)))
    exact = _whole(total + float(seconds or 0))
    return -exact if sign else exact


@function("parse_duration")
def parse_duration(value: Any) -> int | float:
    """Seconds in a duration like "1h30m", "2d", "-15m", "1w2d3h4m5.5s"."""
    return _duration("parse_duration", value)


@function("add_duration")
def add_duration(value: Any, duration: Any) -> str:
    """A datetime moved by a duration like "1h30m" (a leading "-" moves back)."""
    return _shift("add_duration", _datetime("add_duration", value), _duration("add_duration", duration))


@function("diff_seconds")
def diff_seconds(later: Any, earlier: Any) -> int | float:
    """Seconds from ``earlier`` to ``later`` (negative if ``later`` is before ``earlier``)."""
    return _whole(
        (_datetime("diff_seconds", later, "later") - _datetime("diff_seconds", earlier, "earlier")).total_seconds()
    )


#: How many of each epoch unit ``from_epoch`` takes make a second (precision stops at the microsecond).
_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
#: Without a unit, the magnitude decides: the present is about 1.7e9 s, 1.7e12 ms, 1.7e15 us, 1.7e18 ns; each
#: bound is a date no sender means in the smaller unit (10^11 s is the year 5138).
_EPOCH_MAGNITUDES = ((10**11, "s"), (10**14, "ms"), (10**17, "us"))


def _epoch_number(value: Any) -> int | float:
    if isinstance(value, str):
        source = value.strip()
        if len(source) > 40:
            raise fail("from_epoch", "the time is not a number (too long)")
        try:
            return int(source)
        except ValueError:
            pass
        try:
            parsed = float(source)
        except ValueError:
            raise fail("from_epoch", f"the time {quoted(source)} is not a number") from None
        if parsed != parsed or parsed in (float("inf"), float("-inf")):
            raise fail("from_epoch", f"the time {quoted(source)} is not a finite number")
        return parsed
    return number("from_epoch", value, "the time")


@function("from_epoch")
def from_epoch(value: Any, unit: Any = None) -> str:
    """The UTC datetime of a Unix time given as a number or as text ("1733570102", "1733570102.5"), in ``unit``
    "s", "ms", "us" or "ns"; without a unit the magnitude decides (below 10^11 seconds, below 10^14
    milliseconds, below 10^17 microseconds, else nanoseconds). Precision stops at the microsecond."""
    moment = _epoch_number(value)
    if unit is None:
        unit = next((name for bound, name in _EPOCH_MAGNITUDES if abs(moment) < bound), "ns")
    elif text("from_epoch", unit, "unit") not in _PER_SECOND:
        raise fail("from_epoch", f"unit {quoted(unit)} is not one of s, ms, us, ns")
    per_second = _PER_SECOND[unit]
    try:
        # Integers stay integers (a nanosecond time does not fit a float exactly); floats are rounded once.
        micros = moment * 10**6 // per_second if isinstance(moment, int) else round(moment * 10**6 / per_second)
        return _iso(_EPOCH + timedelta(microseconds=micros))
    except OverflowError:
        raise fail("from_epoch", "the result is outside the years 1 to 9999") from None
