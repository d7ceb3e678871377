"""Senders' timestamps as UTC datetimes: RFC 3339 text (as real senders write it) and Unix epoch numbers.

"No time" has several spellings that must not become a date: absent, empty, ``0`` (an unset epoch field) and
Go's zero time ``0001-01-01T00:00:00Z`` (Alertmanager's and Grafana's ``endsAt`` of an alert still firing). The
Unix epoch itself, 1970-01-01T00:00:00Z, is read as "no time" too, whichever way it is written: it is what an
unset epoch field formats as, never the real time of an alert.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from services.ingest.parsers.errors import ParseError

#: Epoch numbers are read by magnitude: below 10^11 seconds, below 10^14 milliseconds, below 10^17 microseconds,
#: else nanoseconds. Every instant from 1973-03-03 to the year 5138 is read right in each unit (10^11 seconds is
#: the year 5138; 10^11 milliseconds, microseconds or nanoseconds are all 1973).
EPOCH_UNIT_BOUNDS: tuple[tuple[int, int], ...] = ((10**11, 1), (10**14, 10**3), (10**17, 10**6))
NANOSECONDS = 10**9

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SHOWN_CHARS = 100
_NO_LEAP = timedelta(0)
_LAST_SECOND = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH).total_seconds())

# RFC 3339 date-time, and what real senders write besides: "t"/"z" in lower case (RFC 3339 section 5.6 allows
# them), a space between date and time, any number of fractional digits (Go and .NET send 7 or 9), and offsets
# without a colon ("+0000", AWS CloudWatch's StateChangeTime). ASCII digits only: "\d" would take other scripts'.
_RFC3339 = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset_hours>[01][0-9]|2[0-3]):?(?P<offset_minutes>[0-5][0-9]))",
    re.ASCII,
)
_DATE_TIME_GROUPS = ("year", "month", "day", "hour", "minute", "second")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_DATE_TIME_WITHOUT_ZONE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?")


def parse_time(value: Any, where: str) -> datetime | None:
    """A timestamp in UTC, from RFC 3339 text (``T`` or ``t`` or a space, ``Z`` or ``z`` or an offset with or
    without a colon, fractional seconds of any length, cut to microseconds) or a Unix epoch number or string of
    digits (unit by magnitude: ``EPOCH_UNIT_BOUNDS``). None for absent, empty, ``0`` and the epoch itself, and Go's
    zero time (year 1); anything else is a ``ParseError`` naming ``where``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParseError(f"{where}: timestamp must be RFC 3339 text or a Unix time, got a boolean")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ParseError(f"{where}: {_shown(value)} is not a usable Unix time")
        return _from_epoch(Decimal(value), value, where)
    if not isinstance(value, str):
        raise ParseError(f"{where}: timestamp must be RFC 3339 text or a Unix time, got {type(value).__name__}")
    text = value.strip()
    if text == "":
        return None
    if _NUMBER.fullmatch(text):
        try:
            number = Decimal(text)
        except InvalidOperation:  # the pattern admits only what Decimal reads; kept as a parse error regardless
            raise ParseError(f"{where}: invalid timestamp {_shown(value)}") from None
        return _from_epoch(number, value, where)
    return _from_text(text, value, where)


def _from_text(text: str, value: str, where: str) -> datetime | None:
    match = _RFC3339.fullmatch(text)
    if match is None:
        if _DATE_TIME_WITHOUT_ZONE.fullmatch(text):
            raise ParseError(f"{where}: timestamp {_shown(value)} has no time zone (expected RFC 3339, e.g. ...Z)")
        raise ParseError(f"{where}: invalid timestamp {_shown(value)} (expected RFC 3339 or a Unix time)")
    parsed = _fast(text)
    if parsed is None:
        return _from_fields(match, value, where)
    return _in_utc(parsed, value, where)


def _fast(text: str) -> datetime | None:
    """What the C parser makes of a text the pattern admitted, when it reads it (not leap seconds, not every
    fraction length or offset on every Python): about ten times faster than building it field by field."""
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError:
        return None


def _from_fields(match: re.Match[str], value: str, where: str) -> datetime | None:
    year, month, day, hour, minute, second = map(int, match.group(*_DATE_TIME_GROUPS))
    # RFC 3339 allows a leap second (:60); Python's datetime does not: it is read as the second after :59.
    leap = second == 60
    microsecond = int(match["fraction"][:6].ljust(6, "0")) if match["fraction"] else 0
    try:
        zone = UTC if match["utc"] else _offset(match["sign"], match["offset_hours"], match["offset_minutes"])
        parsed = datetime(year, month, day, hour, minute, 59 if leap else second, microsecond, zone)
    except ValueError as error:
        raise ParseError(f"{where}: invalid timestamp {_shown(value)} ({error})") from None
    return _in_utc(parsed, value, where, timedelta(seconds=1 if leap else 0))


def _in_utc(parsed: datetime, value: str, where: str, leap: timedelta = _NO_LEAP) -> datetime | None:
    # Go's zero time, whatever the offset (Alertmanager and Grafana send 0001-01-01T00:00:00Z for "not ended yet").
    if parsed.year == 1:
        return None
    try:
        utc = parsed.astimezone(UTC) + leap
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is in the year 10000 in UTC
        raise ParseError(f"{where}: timestamp {_shown(value)} is past the year 9999 in UTC") from None
    return None if utc == _EPOCH else utc


@functools.lru_cache(maxsize=64)
def _offset(sign: str, hours: str, minutes: str) -> timezone:
    # Cached: a sender writes the same one or two offsets on every alert. The pattern admits only 00:00-23:59.
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _from_epoch(number: Decimal, value: Any, where: str) -> datetime | None:
    if number == 0:
        return None
    if number < 0:
        raise ParseError(f"{where}: {_shown(value)} is not a usable Unix time (before 1970)")
    divisor = next((unit for bound, unit in EPOCH_UNIT_BOUNDS if number < bound), NANOSECONDS)
    seconds = number / divisor
    if seconds > _LAST_SECOND:
        raise ParseError(f"{where}: {_shown(value)} is not a usable Unix time (past the year 9999)")
    whole = int(seconds)
    micro = int((seconds - whole) * 1_000_000)
    return _EPOCH + timedelta(seconds=whole, microseconds=micro)


def _shown(value: Any) -> str:
    """The value as a reason quotes it: a long one is cut, so one bad field cannot make a dead letter huge."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}... ({len(text)} characters)"
