"""Properties of the shared field rules, whatever the sender writes: ``parse_time`` raises nothing but
``ParseError``; every kept link is an absolute http(s) URL with a host and no credentials; every severity rule is
total (a value on the fixed scale for any input) and monotone within each numbered scale."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from schemas.alert import SEVERITY_SCALE, severity_rank
from services.ingest.parsers import ParseError
from services.ingest.parsers.fields import (
    SEVERITY_SCALES,
    SeverityScale,
    apply_severity_map,
    gather_urls,
    normalize_severity,
    parse_time,
    safe_url,
    severity_from_scale,
)
from tests.shared.strategies import EDGE_TIMES, FUZZ, JSON

# Text near a timestamp: the characters RFC 3339 uses, so the search reaches the parser's corners.
TIME_TEXT = st.text(alphabet=string.digits + "-:.,+TtZz \u0661\uff10", max_size=40)
INSTANTS = st.datetimes(min_value=datetime(1973, 3, 4), max_value=datetime(5138, 11, 15), timezones=st.just(UTC))
OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@FUZZ
@given(value=JSON | EDGE_TIMES | TIME_TEXT | st.integers() | st.floats() | st.decimals(allow_nan=False).map(str))
def test_parse_time_raises_nothing_but_parse_error(value: Any) -> None:
    try:
        parsed = parse_time(value, "at")
    except ParseError as error:
        assert error.reason.startswith("at: ")
        return
    assert parsed is None or parsed.tzinfo is UTC


@FUZZ
@given(
    instant=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=OFFSETS),
    separator=st.sampled_from("Tt "),
    digits=st.integers(0, 12),
    zone_colon=st.booleans(),
)
def test_rfc3339_spellings_read_back_the_instant(
    instant: datetime, separator: str, digits: int, zone_colon: bool
) -> None:
    fraction = f"{instant.microsecond:06}{'7' * 6}"[:digits]
    offset = instant.strftime("%z")
    zone = f"{offset[:3]}:{offset[3:]}" if zone_colon else offset
    # strftime's %Y does not pad years before 1000 on every platform: written out by hand.
    text = (
        f"{instant.year:04}-{instant.month:02}-{instant.day:02}{separator}"
        f"{instant.hour:02}:{instant.minute:02}:{instant.second:02}" + (f".{fraction}" if digits else "") + zone
    )
    expected = instant.replace(microsecond=int(fraction[:6].ljust(6, "0"))).astimezone(UTC)
    assert parse_time(text, "at") == (None if expected == datetime(1970, 1, 1, tzinfo=UTC) else expected)


@FUZZ
@given(instant=INSTANTS, unit=st.sampled_from([1, 10**3, 10**6, 10**9]), as_text=st.booleans())
def test_epoch_numbers_in_any_unit_read_back_the_instant(instant: datetime, unit: int, as_text: bool) -> None:
    microseconds = (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    number = microseconds * unit // 10**6
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=number * 10**6 // unit)
    assert parse_time(str(number) if as_text else number, "at") == expected


# Pieces of URLs, hostile ones among them, joined at random.
LINK_PIECES = [*"htps:/\\@[]?#.%-_ \t\n\x00\u202e", "http", "https", "javascript", "data", "ex.com", "//", "::1"]
LINK_TEXT = st.lists(st.sampled_from(LINK_PIECES), max_size=12).map("".join)
LINKS = LINK_TEXT | st.text(max_size=30) | st.sampled_from(["https://a.example.com/x", "/rel", "//h/x", "x?y"])


@FUZZ
@given(link=LINKS | JSON, base=st.none() | LINKS)
def test_kept_links_are_absolute_http_urls_without_credentials(link: Any, base: str | None) -> None:
    kept = gather_urls(base=base, link=link)
    assert set(kept) <= {"link"}
    for url in kept.values():
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https")
        assert parts.hostname
        assert "@" not in parts.netloc
        assert url == url.strip()
        assert all(char.isprintable() and not char.isspace() for char in url)
        assert safe_url(url) == url  # a kept link is kept as it is


@FUZZ
@given(
    value=JSON,
    scale=st.sampled_from(SEVERITY_SCALES),
    mapping=st.dictionaries(st.text(max_size=5), st.sampled_from(SEVERITY_SCALE), max_size=3),
)
def test_severity_rules_are_total(value: Any, scale: SeverityScale, mapping: dict[str, Any]) -> None:
    assert normalize_severity(value) in SEVERITY_SCALE
    assert severity_from_scale(value, scale) in SEVERITY_SCALE
    if value is None or isinstance(value, str | int | float):
        assert apply_severity_map(value, mapping) in SEVERITY_SCALE


@given(scale=st.sampled_from(SEVERITY_SCALES), low=st.integers(-3, 12), high=st.integers(-3, 12))
def test_severity_is_monotone_within_each_scale(scale: SeverityScale, low: int, high: int) -> None:
    first, second = sorted((low, high))
    on_scale = [level for level in (first, second) if severity_from_scale(level, scale) != "unknown"]
    if len(on_scale) < 2:
        return  # off the scale is unknown, compared with nothing
    ranks = [severity_rank(severity_from_scale(level, scale)) for level in on_scale]
    # five_high grows with the number; every other scale has its highest level at the smallest number.
    assert ranks[0] <= ranks[1] if scale == "five_high" else ranks[0] >= ranks[1]


@given(
    scale=st.sampled_from(
        [("p", ["P", "p", "Priority ", "priority-", "P-", "p_"]), ("sev", ["Sev", "SEV-", "sev ", "Sev_"])]
    ),
    level=st.integers(0, 9),
    data=st.data(),
)
def test_prefixed_levels_agree_with_their_scale(
    scale: tuple[SeverityScale, list[str]], level: int, data: st.DataObject
) -> None:
    name, prefixes = scale
    prefix = data.draw(st.sampled_from(prefixes))
    assert normalize_severity(f" {prefix}{level} ") == severity_from_scale(level, name)
