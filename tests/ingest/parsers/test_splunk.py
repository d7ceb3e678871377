from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given

from schemas.alert import Alert
from services.ingest.parsers import ParseError, parse_alerts
from tests.ingest.parsers.vendor_samples import assert_reads_or_refuses, assert_samples_taken_by, spoiled_sample
from tests.shared.strategies import FUZZ

BODY = {
    "result": {"host": "web-1", "count": "12", "avg(latency)": "812.5", "_time": "1772446500", "_raw": "GET /x 500"},
    "sid": "scheduler__admin__search__RMD5abc_at_1772446500_1",
    "results_link": "https://splunk:8000/app/search/@go?sid=1",
    "search_name": "Slow checkout",
    "owner": "admin",
    "app": "search",
}


def read(**fields: Any) -> list[Alert]:
    return parse_alerts(orjson.dumps(BODY | fields), {})


def test_a_triggered_search_is_a_firing_alert() -> None:
    [alert] = read()
    assert (alert.source, alert.format, alert.status, alert.name) == ("splunk", "splunk", "firing", "Slow checkout")
    assert alert.labels == {"host": "web-1", "count": "12", "avg(latency)": "812.5", "app": "search", "owner": "admin"}
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert alert.urls == {"source": "https://splunk:8000/app/search/@go?sid=1"}
    assert alert.description == "GET /x 500"


def test_the_search_and_the_results_identity_not_its_statistics_identify_the_alert() -> None:
    [first] = read()
    result = BODY["result"] | {"count": "40", "avg(latency)": "900", "_time": "1772446800"}  # type: ignore[operator]
    [next_run] = read(sid="scheduler__admin__search__RMD5abc_at_1772446800_2", result=result)
    [other_host] = read(result=BODY["result"] | {"host": "web-2"})  # type: ignore[operator]
    [other_search] = read(search_name="Slow login")
    assert first.fingerprint == next_run.fingerprint
    assert len({first.fingerprint, other_host.fingerprint, other_search.fingerprint}) == 3


def test_a_severity_field_the_search_computes_gives_the_severity() -> None:
    [alert] = read(result={"host": "web-1", "severity": "critical"})
    assert (alert.severity, alert.severity_original) == ("critical", "critical")


@pytest.mark.parametrize(
    ("sid", "app", "name"),
    [
        ("scheduler__admin__search__RMD5abc_at_1772446500_1", "search", "Splunk search RMD5abc"),
        ("1772446500.42", "search", "Splunk search in search"),
        ("1772446500.42", None, "Splunk search"),
    ],
)
def test_a_null_search_name_falls_back(sid: str, app: str | None, name: str) -> None:
    [alert] = read(search_name=None, sid=sid, app=app)
    assert alert.name == name


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sid": ""}, "sid is required"),
        ({"result": ["x"]}, "result must be an object"),
        ({"search_name": 5.5, "sid": {"a": 1}}, "sid must be a string"),
        ({"result": {"_time": "99999999999999999999999"}}, "out of range"),
    ],
)
def test_invalid_bodies_give_precise_reasons(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        read(**fields)


def test_every_splunk_sample_and_only_those_are_read_as_splunk() -> None:
    assert_samples_taken_by("splunk", ["splunk"])


@FUZZ
@given(body=spoiled_sample("splunk"))
def test_a_spoiled_splunk_payload_reads_or_is_refused_with_a_reason(body: bytes) -> None:
    assert_reads_or_refuses(body, "splunk")
