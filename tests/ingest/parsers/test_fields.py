from datetime import UTC, datetime

import pytest

from services.ingest.parsers import ParseError
from services.ingest.parsers.fields import labels_fingerprint, normalize_severity, parse_status, parse_time


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("critical", "critical"),
        ("PAGE", "critical"),
        ("error", "high"),
        ("warning", "medium"),
        (" Warn ", "medium"),
        ("low", "low"),
        ("info", "info"),
        ("bogus", "unknown"),
        (None, "unknown"),
        (3, "unknown"),
    ],
)
def test_severity_synonyms(raw: object, expected: str) -> None:
    assert normalize_severity(raw) == expected


def test_zero_time_and_empty_are_none() -> None:
    assert parse_time("0001-01-01T00:00:00Z", "x") is None
    assert parse_time("", "x") is None
    assert parse_time(None, "x") is None


def test_times_are_converted_to_utc_with_nanoseconds_truncated() -> None:
    assert parse_time("2021-10-12T09:51:03.157076+02:00", "x") == datetime(2021, 10, 12, 7, 51, 3, 157076, UTC)
    assert parse_time("2023-02-06T13:08:45.828123456Z", "x") == datetime(2023, 2, 6, 13, 8, 45, 828123, UTC)


@pytest.mark.parametrize("raw", ["yesterday", "2023-02-06T13:08:45", 1675688925])
def test_bad_timestamps_name_the_field(raw: object) -> None:
    with pytest.raises(ParseError, match=r"alerts\[0\]\.startsAt"):
        parse_time(raw, "alerts[0].startsAt")


def test_status_is_case_insensitive_and_strict() -> None:
    assert parse_status("RESOLVED", "x") == "resolved"
    with pytest.raises(ParseError, match="'pending'"):
        parse_status("pending", "x")


def test_label_fingerprint_ignores_order() -> None:
    assert labels_fingerprint({"a": "1", "b": "2"}) == labels_fingerprint({"b": "2", "a": "1"})
    assert labels_fingerprint({"a": "1"}) != labels_fingerprint({"a": "2"})
    assert len(labels_fingerprint({"a": "1"})) == 16


def test_times_at_the_edges_of_the_representable_range() -> None:
    assert parse_time("9999-12-31T23:59:59.999999Z", "x") == datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)
    assert parse_time("9999-12-31T23:00:00+01:00", "x") == datetime(9999, 12, 31, 22, 0, tzinfo=UTC)
    assert parse_time("0001-01-01T00:30:00+01:00", "x") is None  # year 1 is Go's zero time, whatever the offset
    assert parse_time("0002-01-01T00:00:00+23:59", "x") == datetime(1, 12, 31, 0, 1, tzinfo=UTC)


def test_a_time_past_year_9999_in_utc_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"startsAt: timestamp '9999-12-31T23:59:59-01:00' is past the year 9999"):
        parse_time("9999-12-31T23:59:59-01:00", "startsAt")
