"""Time intervals in the routing file: Alertmanager's ``time_intervals`` syntax and semantics (``timeinterval.go``),
the routes' ``mute_time_intervals``/``active_time_intervals`` and ``RoutingTable.time_verdict``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.routing import RoutingFileError, RoutingTable, load_routing
from services.ingest.routing.time_intervals import MinuteRange, TimeInterval, TimeIntervalEntry
from tests.shared.strategies import FUZZ


def _entry(**parts: Any) -> TimeIntervalEntry:
    return TimeIntervalEntry.model_validate(parts)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def _problem(**parts: Any) -> str:
    """The one message a bad entry gives."""
    with pytest.raises(ValueError) as raised:
        TimeIntervalEntry.model_validate(parts)
    return str(raised.value)


# --- times ---------------------------------------------------------------------------------------------------------


def test_a_time_range_includes_its_start_and_excludes_its_end_to_the_minute() -> None:
    office = _entry(times=[{"start_time": "09:00", "end_time": "17:00"}])
    assert not office.contains(_utc(2026, 1, 5, 8, 59, 59))
    assert office.contains(_utc(2026, 1, 5, 9, 0))
    assert office.contains(_utc(2026, 1, 5, 16, 59, 59, 999999))  # seconds do not count: 16:59
    assert not office.contains(_utc(2026, 1, 5, 17, 0))


def test_24_00_ends_the_day_and_the_whole_day_is_every_instant() -> None:
    evening = _entry(times=[{"start_time": "22:00", "end_time": "24:00"}])
    assert evening.contains(_utc(2026, 1, 5, 23, 59, 59))
    assert not evening.contains(_utc(2026, 1, 6, 0, 0))
    day = _entry(times=[{"start_time": "00:00", "end_time": "24:00"}])
    assert all(day.contains(_utc(2026, 1, 5) + timedelta(minutes=minute)) for minute in range(0, 1440, 7))


def test_a_range_may_not_cross_midnight_write_two_instead() -> None:
    assert "cannot cross midnight" in _problem(times=[{"start_time": "22:00", "end_time": "06:00"}])
    assert "cannot cross midnight" in _problem(times=[{"start_time": "10:00", "end_time": "10:00"}])
    night = _entry(times=[{"start_time": "22:00", "end_time": "24:00"}, {"start_time": "00:00", "end_time": "06:00"}])
    assert night.contains(_utc(2026, 1, 5, 23, 0)) and night.contains(_utc(2026, 1, 6, 5, 59))
    assert not night.contains(_utc(2026, 1, 6, 6, 0))


@pytest.mark.parametrize("text", ["9:00", "24:01", "23:60", "25:00", "0900", "09:00:00", "", "noon"])
def test_times_are_two_digit_hh_mm_as_alertmanager_reads_them(text: str) -> None:
    start, end = (text, "23:00") if text != "24:01" else ("10:00", text)
    message = _problem(times=[{"start_time": start, "end_time": end}])
    assert "is not a time" in message or "needs both" in message


def test_a_time_range_needs_both_ends_and_no_other_key() -> None:
    assert "needs both start_time and end_time" in _problem(times=[{"start_time": "09:00"}])
    assert "unknown key 'end'" in _problem(times=[{"start_time": "09:00", "end": "10:00"}])


# --- weekdays, days of the month, months, years ----------------------------------------------------------------------


def test_weekdays_are_names_in_any_case_sunday_first() -> None:
    workdays = _entry(weekdays=["Monday:FRIDAY"])
    sunday, monday, friday, saturday = _utc(2026, 1, 4), _utc(2026, 1, 5), _utc(2026, 1, 9), _utc(2026, 1, 10)
    assert [workdays.contains(day) for day in (sunday, monday, friday, saturday)] == [False, True, True, False]
    weekend = _entry(weekdays=["saturday", "sunday"])
    assert [weekend.contains(day) for day in (sunday, monday, saturday)] == [True, False, True]


def test_a_weekday_range_may_not_wrap_past_saturday_nor_be_a_number() -> None:
    assert "wraps past saturday" in _problem(weekdays=["saturday:sunday"])
    assert "'funday' is not a weekday" in _problem(weekdays=["funday"])
    assert "not a number" in _problem(weekdays=[1])
    assert "is not a weekday range" in _problem(weekdays=["monday:tuesday:friday"])


def test_negative_days_count_from_the_end_of_the_month_leap_years_included() -> None:
    last_three = _entry(days_of_month=["-3:-1"])
    assert [day for day in range(1, 30) if last_three.contains(_utc(2024, 2, day))] == [27, 28, 29]  # leap year
    assert [day for day in range(1, 29) if last_three.contains(_utc(2025, 2, day))] == [26, 27, 28]
    assert [day for day in range(1, 32) if last_three.contains(_utc(2026, 1, day))] == [29, 30, 31]
    last = _entry(days_of_month=["-1"])
    assert last.contains(_utc(2024, 2, 29)) and not last.contains(_utc(2024, 2, 28))
    assert last.contains(_utc(2026, 4, 30)) and not last.contains(_utc(2026, 4, 29))


def test_day_ranges_are_clamped_to_the_month_as_alertmanager_clamps_them() -> None:
    whole = _entry(days_of_month=["1:31"])
    assert all(whole.contains(_utc(2025, 2, day)) for day in range(1, 29))
    late = _entry(days_of_month=["30:31"])  # starts after February's end: holds on no day of it
    assert not any(late.contains(_utc(2024, 2, day)) for day in range(1, 30))
    assert late.contains(_utc(2024, 3, 30)) and late.contains(_utc(2024, 3, 31))
    early_from_end = _entry(days_of_month=["-31:-28"])  # in a 28-day February: its first day only
    assert [day for day in range(1, 29) if early_from_end.contains(_utc(2025, 2, day))] == [1]
    mixed = _entry(days_of_month=["20:-5"])  # 20th to the 5th-last day
    assert [day for day in range(1, 32) if mixed.contains(_utc(2026, 1, day))] == list(range(20, 28))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "0 is not a day of the month"),
        ("32", "32 is not a day of the month"),
        ("-32:-1", "-32 is not a day of the month"),
        ("-3:5", "the end day must be negative when the start day is"),
        ("10:5", "the end day 5 is always before the start day 10"),
        ("-1:-3", "the end day -3 is always before the start day -1"),
        ("25:-5", "the end day -5 is always before the start day 25"),
        ("first", "'first' is not a number"),
    ],
)
def test_day_of_month_ranges_alertmanager_refuses_are_refused(value: str, message: str) -> None:
    assert message in _problem(days_of_month=[value])


def test_months_by_name_or_number_and_years_in_ranges() -> None:
    quarter = _entry(months=["january:march", "12"])
    assert [month for month in range(1, 13) if quarter.contains(_utc(2026, month, 15))] == [1, 2, 3, 12]
    numbers = _entry(months=["4:6"])
    assert [month for month in range(1, 13) if numbers.contains(_utc(2026, month, 15))] == [4, 5, 6]
    years = _entry(years=["2025:2026", "2030"])
    assert [year for year in range(2024, 2032) if years.contains(_utc(year, 6, 1))] == [2025, 2026, 2030]
    assert "end month january is before start month december" in _problem(months=["december:january"])
    assert "13 is not a month" in _problem(months=["13"])
    assert "'smarch' is not a month" in _problem(months=["smarch"])
    assert "end year 2025 is before start year 2026" in _problem(years=["2026:2025"])
    assert "0 is not a year" in _problem(years=["0:2026"])


def test_every_part_set_must_hold_and_any_entry_of_an_interval_may() -> None:
    entry = _entry(weekdays=["saturday"], months=["june"])
    assert (
        entry.contains(_utc(2026, 6, 6))
        and not entry.contains(_utc(2026, 7, 4))
        and not entry.contains(_utc(2026, 6, 5))
    )
    assert _entry().contains(_utc(2026, 6, 5))  # an entry that sets nothing always holds
    interval = TimeInterval.model_validate(
        {"name": "either", "time_intervals": [{"weekdays": ["saturday"]}, {"days_of_month": ["1"]}]}
    )
    assert interval.contains(_utc(2026, 6, 6)) and interval.contains(_utc(2026, 6, 1))
    assert not interval.contains(_utc(2026, 6, 2))


def test_an_empty_list_is_refused_rather_than_never_holding() -> None:
    assert "at least 1 item" in _problem(weekdays=[])
    with pytest.raises(ValueError, match="at least 1 item"):
        TimeInterval.model_validate({"name": "never", "time_intervals": []})


# --- time zones ------------------------------------------------------------------------------------------------------


def test_location_reads_the_parts_in_its_zone_across_daylight_saving_time() -> None:
    berlin = _entry(times=[{"start_time": "09:00", "end_time": "17:00"}], location="Europe/Berlin")
    assert berlin.contains(_utc(2026, 1, 5, 8, 0)) and not berlin.contains(_utc(2026, 1, 5, 7, 59))  # CET, +1
    assert berlin.contains(_utc(2026, 7, 6, 7, 0)) and not berlin.contains(_utc(2026, 7, 6, 15, 0))  # CEST, +2
    # 29 March 2026, 02:00 local becomes 03:00: no instant of that day is 02:xx in Berlin.
    gap = _entry(times=[{"start_time": "02:00", "end_time": "03:00"}], location="Europe/Berlin")
    day = _utc(2026, 3, 28, 23, 0)
    assert not any(gap.contains(day + timedelta(minutes=minute)) for minute in range(0, 24 * 60, 5))
    # 25 October 2026, 02:00-03:00 local happens twice: both are in the range.
    assert gap.contains(_utc(2026, 10, 25, 0, 30)) and gap.contains(_utc(2026, 10, 25, 1, 30))


def test_weekday_and_day_of_month_are_the_zones_own() -> None:
    # Monday 5 January 2026, 23:30 UTC is Tuesday 12:30 in Auckland; 28 February 23:30 UTC is 1 March in Berlin.
    tuesday = _entry(weekdays=["tuesday"], location="Pacific/Auckland")
    assert tuesday.contains(_utc(2026, 1, 5, 23, 30)) and not _entry(weekdays=["tuesday"]).contains(
        _utc(2026, 1, 5, 23, 30)
    )
    first = _entry(days_of_month=["1"], months=["march"], location="Europe/Berlin")
    assert first.contains(_utc(2026, 2, 28, 23, 30)) and not first.contains(_utc(2026, 2, 28, 22, 59))


def test_an_instant_is_the_same_whatever_zone_it_is_given_in_and_naive_is_utc() -> None:
    office = _entry(times=[{"start_time": "09:00", "end_time": "17:00"}], location="America/New_York")
    at = _utc(2026, 1, 5, 14, 0)  # 09:00 in New York
    assert office.contains(at) and office.contains(at.astimezone(ZoneInfo("Asia/Tokyo")))
    assert office.contains(at.replace(tzinfo=None))


def test_an_instant_no_zone_can_express_is_in_no_interval() -> None:
    east, west = _entry(location="Etc/GMT-14"), _entry(location="Etc/GMT+12")  # UTC+14, UTC-12
    assert not east.contains(datetime.max) and not west.contains(datetime.min)  # no such local day
    assert west.contains(datetime.max) and east.contains(datetime.min.replace(tzinfo=UTC))


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Local", "", "../../etc/passwd", "/etc/localtime", "America"])
def test_a_zone_that_is_not_an_iana_name_is_refused(zone: str) -> None:
    assert "is not an IANA time zone" in _problem(location=zone)


# --- properties ------------------------------------------------------------------------------------------------------

INSTANTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(at=INSTANTS, start=st.integers(0, 1439), length=st.integers(1, 1440))
@FUZZ
def test_property_a_time_range_holds_exactly_on_its_minutes(at: datetime, start: int, length: int) -> None:
    end = min(start + length, 1440)
    entry = _entry(times=[{"start_time": f"{start // 60:02d}:{start % 60:02d}", "end_time": f"{end // 60:02d}:"
                           f"{end % 60:02d}"}])  # fmt: skip
    assert entry.contains(at) is (start <= at.hour * 60 + at.minute < end)


@given(at=INSTANTS, hours=st.integers(-12, 14), start=st.integers(0, 23))
@FUZZ
def test_property_a_fixed_offset_zone_shifts_the_instant(at: datetime, hours: int, start: int) -> None:
    # Etc/GMT-5 is UTC+5 (POSIX signs): the zone's entry at ``at`` is the UTC entry at ``at + 5h``.
    zone = f"Etc/GMT{-hours:+d}" if hours else "Etc/GMT"
    parts = {"times": [{"start_time": f"{start:02d}:00", "end_time": "24:00"}], "weekdays": ["monday:thursday"],
             "days_of_month": ["-20:-2"]}  # fmt: skip
    assert _entry(**parts, location=zone).contains(at) is _entry(**parts).contains(at + timedelta(hours=hours))


@given(at=INSTANTS, first=st.integers(1, 31), last=st.integers(1, 31))
@FUZZ
def test_property_a_negative_day_is_the_same_day_counted_from_the_end(at: datetime, first: int, last: int) -> None:
    # -n is day (days in month + 1 - n) whenever that day exists; a positive range of those days agrees.
    days = ((at.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
    low, high = sorted((first, last))
    if high > days:
        return
    negative = _entry(days_of_month=[f"{-(days + 1 - low)}:{-(days + 1 - high)}"])
    assert negative.contains(at) is _entry(days_of_month=[f"{low}:{high}"]).contains(at)


# --- in the routing file ---------------------------------------------------------------------------------------------

ROUTING = """\
time_intervals:
  - name: office
    time_intervals:
      - times: [{start_time: 09:00, end_time: 17:00}]
        weekdays: [monday:friday]
        location: Europe/Berlin
  - name: month-end
    time_intervals:
      - days_of_month: [-3:-1, 1:2]
mute_time_intervals:
  - name: maintenance
    time_intervals:
      - {weekdays: [sunday], times: [{start_time: 02:00, end_time: 04:00}]}
routes:
  - name: pages
    workflow: page
    active_time_intervals: [office, month-end]
    mute_time_intervals: [maintenance]
  - name: tickets
    workflow: ticket
"""


def _load(tmp_path: Path, text: str) -> RoutingTable:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    return load_routing(path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    with pytest.raises(RoutingFileError) as raised:
        load_routing(path)
    return [line.removeprefix(str(path)) for line in raised.value.lines]


def test_unquoted_alertmanager_times_and_ranges_read_as_written(tmp_path: Path) -> None:
    # YAML 1.1 reads 17:00 as 1020 and 1:2 as 62; Alertmanager's reader keeps them as text, and so must we.
    table = _load(tmp_path, ROUTING)
    [office_entry] = table.intervals["office"].time_intervals
    assert office_entry.times == [MinuteRange(540, 1020)]
    [month_end] = table.intervals["month-end"].time_intervals
    assert [(span.begin, span.end) for span in month_end.days_of_month or []] == [(-3, -1), (1, 2)]


def test_time_verdict_mutes_then_requires_an_active_interval(tmp_path: Path) -> None:
    table = _load(tmp_path, ROUTING)
    pages, tickets = table.routes
    assert table.time_verdict(pages, _utc(2026, 1, 14, 10, 0)) is None  # Wednesday 11:00 in Berlin
    assert table.time_verdict(pages, _utc(2026, 1, 14, 20, 0)) == (
        "outside its active time intervals 'office', 'month-end'"
    )
    assert table.time_verdict(pages, _utc(2026, 1, 31, 20, 0)) is None  # Saturday, but the month's last day
    assert table.time_verdict(pages, _utc(2026, 2, 1, 2, 30)) == "muted by time interval 'maintenance'"
    assert table.time_verdict(tickets, _utc(2026, 2, 1, 2, 30)) is None  # no intervals: always
    assert table.timed


def test_a_route_naming_an_unknown_interval_is_placed_at_the_name(tmp_path: Path) -> None:
    text = ROUTING.replace("[office, month-end]", "[office, weekends]").replace(
        "    workflow: ticket\n", "    workflow: ticket\n    mute_time_intervals: [nights]\n"
    )
    assert _problems(tmp_path, text) == [
        ":17:37: routes.0.active_time_intervals.1: no time interval named 'weekends' (the file names 'office', "
        "'month-end', 'maintenance' in time_intervals)",
        ":21:27: routes.1.mute_time_intervals.0: no time interval named 'nights' (the file names 'office', "
        "'month-end', 'maintenance' in time_intervals)",
    ]


def test_interval_names_are_unique_across_both_lists(tmp_path: Path) -> None:
    twice = ROUTING.replace("name: month-end", "name: office").replace("[office, month-end]", "[office]")
    assert _problems(tmp_path, twice) == [":7:11: time_intervals: time interval 'office' is not unique"]
    across = ROUTING.replace("name: maintenance", "name: office").replace("[maintenance]", "[office]")
    assert _problems(tmp_path, across) == [":11:11: mute_time_intervals: time interval 'office' is not unique"]


def test_every_problem_of_the_intervals_is_placed(tmp_path: Path) -> None:
    text = (
        "time_intervals:\n"
        "  - name: bad\n"
        "    time_intervals:\n"
        "      - times: [{start_time: 17:00, end_time: 09:00}]\n"
        "        weekdays: [friday:monday, funday]\n"
        "        days_of_month: ['0', '-3:5']\n"
        "        months: [13]\n"
        "        location: Mars/Olympus\n"
        "        colour: red\n"
        "routes:\n  - {name: r, workflow: w}\n"
    )
    problems = _problems(tmp_path, text)
    assert [line.split(": ")[0] for line in problems] == [
        ":4:17", ":5:20", ":5:35", ":6:25", ":6:30", ":7:18", ":8:19", ":9:9",
    ]  # fmt: skip
    assert re.search(r"colour", problems[-1])


def test_the_routing_example_of_the_manual_loads() -> None:
    from tests.docs.markdown_files import EXAMPLES

    table = load_routing(EXAMPLES / "routing" / "noise-control.yaml")
    assert set(table.intervals) == {"business-hours", "maintenance"}
    assert [route.name for route in table.routes if route.threshold] == ["disk-filling"]
    assert len(table.inhibit_rules) == 2
