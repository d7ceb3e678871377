from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given

from schemas.alert import Alert
from services.ingest.parsers import ParseError, parse_alerts
from tests.ingest.parsers.vendor_samples import (
    assert_reads_or_refuses,
    assert_resolved_finds_its_firing_run,
    assert_samples_taken_by,
    spoiled_sample,
)
from tests.shared.strategies import FUZZ

RULE = {"id": "r-1", "name": "Errors above 50", "spaceId": "default", "tags": "env:prod,edge", "url": "https://k/r-1"}


def read(group: str = "threshold met", instance: str = "gw-1", **fields: Any) -> list[Alert]:
    body = {
        "rule": RULE,
        "alert": {"id": instance, "actionGroup": group},
        "context": {"group": instance, "value": 87, "reason": "87 errors in 1m", "message": "long text"},
        "date": "2026-03-02T10:15:04Z",
    }
    return parse_alerts(orjson.dumps(body | fields), {})


def test_an_active_alert_instance_is_a_firing_alert() -> None:
    [alert] = read()
    assert (alert.source, alert.format, alert.status, alert.name) == ("elastic", "elastic", "firing", "Errors above 50")
    assert (alert.summary, alert.description) == ("87 errors in 1m", "long text")
    assert alert.labels == {"env": "prod", "tag:edge": "true", "group": "gw-1", "value": "87", "rule_id": "r-1",
                            "alert_id": "gw-1", "action_group": "threshold met"}  # fmt: skip
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 4, tzinfo=UTC)
    assert alert.urls == {"source": "https://k/r-1"}


def test_recovered_resolves_the_same_instance_and_other_instances_are_other_alerts() -> None:
    [active], [recovered], [other] = read(), read("recovered"), read(instance="gw-2")
    assert recovered.status == "resolved" and recovered.fingerprint == active.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("context", "group", "severity"),
    [
        ({"alertState": "WARNING"}, "metrics.threshold.warning", "medium"),
        ({}, "metrics.threshold.warning", "medium"),
        ({"severity": "critical"}, "threshold met", "critical"),
        ({}, "threshold met", "unknown"),
    ],
)
def test_severity_is_the_contexts_or_the_action_groups(context: dict[str, Any], group: str, severity: str) -> None:
    [alert] = read(group, context=context)
    assert alert.severity == severity


def test_links_of_the_context_are_kept() -> None:
    [alert] = read(context={"alertDetailsUrl": "https://k/a/1", "viewInAppUrl": "https://k/h", "link": ""})
    assert alert.urls == {"source": "https://k/r-1", "details": "https://k/a/1", "app": "https://k/h"}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"rule": RULE | {"name": ""}}, "rule.name is required"),
        ({"rule": {"name": "x", "id": ""}, "alert": {"id": "", "actionGroup": "a"}}, "rule.id or alert.id is required"),
        ({"context": ["x"]}, "context must be an object"),
        ({"date": "now"}, "invalid timestamp"),
        ({"rule": RULE | {"tags": 3}}, "tags must be a list of strings"),
    ],
)
def test_invalid_bodies_give_precise_reasons(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        read(**fields)


def test_every_elastic_sample_and_only_those_are_read_as_elastic() -> None:
    assert_samples_taken_by("elastic", ["elastic"])


@FUZZ
@given(body=spoiled_sample("elastic"))
def test_a_spoiled_elastic_payload_reads_or_is_refused_with_a_reason(body: bytes) -> None:
    assert_reads_or_refuses(body, "elastic")


@pytest.mark.parametrize(("firing", "resolved"), [("index-threshold-active.json", "index-threshold-recovered.json")])
def test_a_resolved_sample_finds_the_run_its_firing_started(firing: str, resolved: str) -> None:
    assert_resolved_finds_its_firing_run("elastic", firing, resolved)
