import json
from datetime import UTC, datetime

import pytest

from schemas.alert import Alert, Severity
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers import ParseError, parse_alerts, parsers_for
from services.ingest.parsers.field_maps import FieldMap
from services.ingest.parsers.fields import (
    SeverityScale,
    apply_severity_map,
    gather_url_map,
    gather_urls,
    labels_fingerprint,
    normalize_severity,
    parse_status,
    parse_time,
    safe_url,
    severity_from_scale,
)


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


@pytest.mark.parametrize(
    "raw",
    [
        "yesterday",
        "2023-02-06T13:08:45",
        True,
        [1],
        -5,
        float("nan"),
        "2023-02-30T00:00:00Z",
        "2023-02-06T13:08:45+24:00",
    ],
)
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


# --- Severity rules (defect 6: Sev0/P0 were unknown, Azure's Sev0-Sev4 one level too high) ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Azure Monitor: Sev0 Critical, Sev1 Error, Sev2 Warning, Sev3 Informational, Sev4 Verbose.
        ("Sev0", "critical"),
        ("Sev1", "high"),
        ("Sev2", "medium"),
        ("Sev3", "low"),
        ("Sev4", "info"),
        ("SEV-1", "high"),
        ("sev_0", "critical"),
        ("sev 2", "medium"),
        # PagerDuty priorities and Opsgenie: P1 is the highest, P5 the lowest; P0 is above P1.
        ("P0", "critical"),
        ("P1", "critical"),
        ("p2", "high"),
        ("P3", "medium"),
        ("P4", "low"),
        ("P5", "info"),
        ("Priority 1", "critical"),
        ("priority-3", "medium"),
        ("P-2", "high"),
        # Off the scale or not a level: unknown rather than a guess.
        ("P6", "unknown"),
        ("Sev9", "unknown"),
        ("P", "unknown"),
        ("P1x", "unknown"),
        ("PP1", "unknown"),
        ("P\u0661", "unknown"),  # an Arabic-Indic digit is not a level
    ],
)
def test_prefixed_levels_map_by_their_scale(raw: str, expected: str) -> None:
    assert normalize_severity(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("fatal", "critical"),  # Sentry
        ("emergency", "critical"),
        ("emerg", "critical"),
        ("alert", "critical"),
        ("crit", "critical"),
        ("Disaster", "critical"),  # Zabbix
        ("error", "high"),  # Sentry, PagerDuty, Datadog
        ("err", "high"),
        ("major", "high"),
        ("High", "high"),
        ("warning", "medium"),
        ("Average", "medium"),  # Zabbix
        ("minor", "low"),
        ("notice", "low"),
        ("Informational", "info"),
        ("verbose", "info"),
        ("debug", "info"),
        ("success", "info"),  # Datadog's alert type of a recovery
        ("Not classified", "unknown"),
    ],
)
def test_vendor_words(raw: str, expected: str) -> None:
    assert normalize_severity(raw) == expected


@pytest.mark.parametrize("raw", [1, 3, "1", " 2 ", 5.0, "0"])
def test_a_bare_number_without_its_scale_is_unknown(raw: object) -> None:
    # 1 is the highest level on some senders' scales and the lowest on others': only the parser knows which.
    assert normalize_severity(raw) == "unknown"


@pytest.mark.parametrize(
    ("raw", "scale", "expected"),
    [
        (1, "one_high", "critical"),
        ("5", "one_high", "info"),
        (5, "five_high", "critical"),
        (1.0, "five_high", "info"),
        (3, "five_high", "medium"),
        (0, "syslog", "critical"),
        (2, "syslog", "critical"),
        ("3", "syslog", "high"),
        (4, "syslog", "medium"),
        (5, "syslog", "low"),
        (7, "syslog", "info"),
        ("warning", "syslog", "medium"),  # a word is read as a word on any scale
        (0, "sev", "critical"),
        (3, "sev", "low"),
        (2, "sev", "medium"),
        (0, "p", "critical"),
        (1, "p", "critical"),
        ("P1", "sev", "critical"),  # a prefixed level names its own scale
        ("Sev1", "p", "high"),
        (8, "syslog", "unknown"),
        (0, "one_high", "unknown"),
        (6, "five_high", "unknown"),
        (-1, "p", "unknown"),
        (2.5, "one_high", "unknown"),
        (True, "one_high", "unknown"),
        (None, "p", "unknown"),
    ],
)
def test_levels_on_a_known_scale(raw: object, scale: SeverityScale, expected: str) -> None:
    assert severity_from_scale(raw, scale) == expected


def test_a_severity_map_overrides_the_rules_and_keeps_the_original() -> None:
    mapping: dict[str, Severity] = {"90": "critical", "sev3": "medium", "ok": "low"}
    assert apply_severity_map(90, mapping) == "critical"
    assert apply_severity_map(" SEV3 ", mapping) == "medium"  # not the rule's "info"
    assert apply_severity_map("Sev1", mapping) == "high"  # not in the map: the rules
    assert apply_severity_map(None, mapping) == "unknown"
    alert = Alert(
        source="azure", format="azure", status="firing", name="cpu", fingerprint="f",
        severity="info", severity_original="Sev3",
    )  # fmt: skip
    mapped = apply_severity_map(alert, mapping)
    assert (mapped.severity, mapped.severity_original) == ("medium", "Sev3")
    assert alert.severity == "info"  # a copy: the alert given is unchanged
    other = alert.model_copy(update={"severity_original": "Sev0", "severity": "critical"})
    assert apply_severity_map(other, mapping) is other


# --- Times (defect 9: epoch 0 read as 1970, lower-case t/z refused) ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-02-06t13:08:45z", datetime(2023, 2, 6, 13, 8, 45, tzinfo=UTC)),
        ("2023-02-06 13:08:45Z", datetime(2023, 2, 6, 13, 8, 45, tzinfo=UTC)),
        ("2023-02-06T13:08:45.1Z", datetime(2023, 2, 6, 13, 8, 45, 100000, UTC)),
        ("2021-11-17T05:34:48.0623172Z", datetime(2021, 11, 17, 5, 34, 48, 62317, UTC)),  # .NET's 7 digits
        ("2021-01-01T10:00:00.000+0100", datetime(2021, 1, 1, 9, 0, tzinfo=UTC)),  # CloudWatch: no colon
        ("2021-01-01T10:00:00-05:30", datetime(2021, 1, 1, 15, 30, tzinfo=UTC)),
        ("2021-01-01T10:00:00-00:00", datetime(2021, 1, 1, 10, 0, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC)),  # a leap second
        (" 2023-02-06T13:08:45Z\n", datetime(2023, 2, 6, 13, 8, 45, tzinfo=UTC)),
    ],
)
def test_rfc3339_as_senders_write_it(raw: str, expected: datetime) -> None:
    assert parse_time(raw, "x") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1675688925, datetime(2023, 2, 6, 13, 8, 45, tzinfo=UTC)),
        (1675688925.25, datetime(2023, 2, 6, 13, 8, 45, 250000, UTC)),
        ("1675688925", datetime(2023, 2, 6, 13, 8, 45, tzinfo=UTC)),  # Splunk, Datadog: numbers as text
        ("1675688925.123456", datetime(2023, 2, 6, 13, 8, 45, 123456, UTC)),
        (1675688925123, datetime(2023, 2, 6, 13, 8, 45, 123000, UTC)),  # milliseconds (Opsgenie)
        ("1675688925123", datetime(2023, 2, 6, 13, 8, 45, 123000, UTC)),
        (1675688925123456, datetime(2023, 2, 6, 13, 8, 45, 123456, UTC)),  # microseconds
        (1675688925123456789, datetime(2023, 2, 6, 13, 8, 45, 123456, UTC)),  # nanoseconds
        (99_999_999_999, datetime(5138, 11, 16, 9, 46, 39, tzinfo=UTC)),  # the largest read as seconds
        (100_000_000_000, datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)),  # the smallest read as milliseconds
    ],
)
def test_epoch_numbers_by_magnitude(raw: object, expected: datetime) -> None:
    assert parse_time(raw, "x") == expected


@pytest.mark.parametrize(
    "raw", [0, 0.0, "0", " 0 ", "0.000", "1970-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00", "   ", None, ""]
)
def test_unset_times_are_absent_not_1970(raw: object) -> None:
    assert parse_time(raw, "x") is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (-1, "before 1970"),
        (10**21, "past the year 9999"),
        ("260000000000000000000", "past the year 9999"),  # nanoseconds: the year 10209
        (float("inf"), "not a usable Unix time"),
        ("2023-02-06T13:08Z", "invalid timestamp"),
        ("2023-02-06", "invalid timestamp"),
        ("20230206T130845Z", "invalid timestamp"),  # ISO 8601 basic format is not RFC 3339
        ("2023-02-06x13:08:45Z", "invalid timestamp"),
        ("\uff12\uff10\uff12\uff13-02-06T13:08:45Z", "invalid timestamp"),  # full-width digits
        ("1e9", "invalid timestamp"),
    ],
)
def test_unusable_times_say_why(raw: object, reason: str) -> None:
    with pytest.raises(ParseError, match=f"startsAt: .*{reason}"):
        parse_time(raw, "startsAt")


# --- Links (defect 9: javascript: and other non-http(s) URLs were kept) ---


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "mailto:oncall@example.com",
        "ftp://files.example.com/x",
        "/alerting/grafana/abc/view",  # relative, and no base to join it to
        "view?orgId=1",
        "//evil.example.com/x",
        "https:example.com",
        "https://",
        "http://:80/",
        "https://host.example.com:99999/",
        "https://host.example.com/\nx",
        "https://host.example.com/\x00",
        "https://exa\u202emple.com/",  # a bidi override disguises where it goes
        "https://evil.example.com\\@grafana.example.com/",
        "   ",
    ],
)
def test_only_absolute_http_links_are_kept(link: str) -> None:
    assert gather_urls(runbook=link) == {}


def test_links_kept_and_cleaned() -> None:
    assert gather_urls(
        generator="https://prom.example.com/graph?g0.expr=up",
        runbook=" HTTP://wiki.example.com/run book#step-2 ",
        silence="https://admin:s3cret@am.example.com:9093/#/silences/new",
        ipv6="http://[2001:db8::1]:9090/alerts",
        empty="",
        absent=None,
        number=3,
    ) == {
        "generator": "https://prom.example.com/graph?g0.expr=up",
        "runbook": "http://wiki.example.com/run%20book#step-2",
        "silence": "https://am.example.com:9093/#/silences/new",  # the credentials are not passed on
        "ipv6": "http://[2001:db8::1]:9090/alerts",
    }


@pytest.mark.parametrize(
    ("base", "link", "expected"),
    [
        # Grafana 12 sends a root-relative generatorURL that already holds its sub-path.
        ("https://grafana.example.com/", "/alerting/grafana/abc/view?orgId=1",
         "https://grafana.example.com/alerting/grafana/abc/view?orgId=1"),
        ("https://example.com/grafana", "/grafana/alerting/list", "https://example.com/grafana/alerting/list"),
        ("https://example.com/grafana", "d/abc?orgId=1", "https://example.com/grafana/d/abc?orgId=1"),
        ("https://example.com/grafana/", "d/abc", "https://example.com/grafana/d/abc"),
        ("https://example.com/", "https://other.example.com/x", "https://other.example.com/x"),
        ("javascript:alert(1)//", "/x", None),  # a base that is not a usable URL joins nothing
        ("/relative/base", "/x", None),
        ("https://example.com/", "javascript:alert(1)", None),
    ],
)  # fmt: skip
def test_relative_links_join_the_base(base: str, link: str, expected: str | None) -> None:
    assert safe_url(link, base) == expected
    assert gather_urls(base=base, generator=link) == ({"generator": expected} if expected else {})


def test_link_names_from_configuration_may_be_anything() -> None:
    assert gather_url_map({"base": "https://a.example.com/", "x y": "/p"}, base="https://b.example.com") == {
        "base": "https://a.example.com/",
        "x y": "https://b.example.com/p",
    }


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (0, None),  # an unset epoch field: no time, not 1970-01-01
        ("0", None),
        (1675688925123456789, datetime(2023, 2, 6, 13, 8, 45, 123456, UTC)),
        ("2023-02-06t13:08:45z", datetime(2023, 2, 6, 13, 8, 45, tzinfo=UTC)),
    ],
)
def test_field_maps_read_times_by_the_shared_rule(at: object, expected: datetime | None) -> None:
    parsers = parsers_for({"edr": FieldMap.model_validate({"title": "$.t", "starts_at": "$.at"})})
    (alert,) = parse_alerts(json.dumps({"t": "x", "at": at}).encode(), {SOURCE_HEADER: "edr"}, parsers)
    assert alert.starts_at == expected


def test_a_long_bad_time_is_cut_in_the_reason() -> None:
    with pytest.raises(ParseError) as refused:
        parse_time("x" * 100_000, "startsAt")
    assert len(refused.value.reason) < 200
    assert "(100002 characters)" in refused.value.reason


@pytest.mark.parametrize("raw", ["2023-02-06T13:08:45+05:75", "2023-02-06T13:08:45+0575", "2023-02-06T13:08:45-24:00"])
def test_offsets_out_of_range_are_refused_not_carried_over(raw: str) -> None:
    with pytest.raises(ParseError, match="invalid timestamp"):
        parse_time(raw, "x")


def test_safe_url_answers_are_cached_only_for_links_of_bounded_size() -> None:
    from services.ingest.parsers import links

    base = "https://alertmanager.example.org"
    short = "/graph?g0.expr=up"
    assert safe_url(short, base) == safe_url(short, base) == "https://alertmanager.example.org/graph?g0.expr=up"
    assert links._cached_safe_url.cache_info().currsize >= 1
    # A huge link is answered the same way, but never kept: senders cannot fill memory through the cache.
    huge = "https://example.org/" + "a" * links.CACHED_LINK_CHARS
    before = links._cached_safe_url.cache_info()
    assert safe_url(huge) == huge
    after = links._cached_safe_url.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)
    # The cached answer is the computed one, for good and bad links alike.
    for link in (short, "javascript:alert(1)", " https://u:p@host/x ", "//other/x", "https://h/\u202eevil"):
        assert safe_url(link, base) == links._safe_url(link, base)
