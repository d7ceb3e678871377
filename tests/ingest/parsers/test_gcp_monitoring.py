from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.parsers import ParseError, parse_alerts
from services.ingest.parsers.gcp_monitoring import GcpMonitoringParser
from tests.ingest.parsers.format_fuzz import reads_or_refuses, spoil
from tests.shared.strategies import FUZZ, JSON, TEXT


def _document(**incident: Any) -> dict[str, Any]:
    return {
        "version": "1.2",
        "incident": {
            "incident_id": "0.abc",
            "scoping_project_id": "proj",
            "url": "https://console.cloud.google.com/monitoring/alerting/incidents/0.abc?project=proj",
            "severity": "Warning",
            "started_at": 1772446500,
            "ended_at": None,
            "state": "open",
            "summary": "CPU above threshold",
            "resource": {"type": "gce_instance", "labels": {"zone": "europe-west1-b"}},
            "metric": {"type": "compute.googleapis.com/instance/cpu/utilization", "labels": {"instance_name": "vm-1"}},
            "policy_name": "CPU high",
            "policy_user_labels": {"team": "web"},
            "condition_name": "VM CPU",
            "documentation": {"content": "Look at the VM", "mime_type": "text/markdown"},
        }
        | incident,
    }


def _read(document: dict[str, Any]) -> Any:
    [alert] = parse_alerts(orjson.dumps(document), {})
    return alert


def test_incident_is_normalized() -> None:
    alert = _read(_document())
    assert (alert.source, alert.format, alert.name, alert.status) == (
        "gcp-monitoring",
        "gcp.monitoring",
        "CPU high",
        "firing",
    )
    assert (alert.severity, alert.severity_original) == ("medium", "Warning")
    assert (alert.summary, alert.description) == ("CPU above threshold", "Look at the VM")
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, tzinfo=UTC) and alert.ends_at is None
    assert alert.labels == {
        "condition": "VM CPU",
        "project": "proj",
        "resource_type": "gce_instance",
        "zone": "europe-west1-b",
        "metric_type": "compute.googleapis.com/instance/cpu/utilization",
        "instance_name": "vm-1",
        "team": "web",
    }
    assert alert.urls == {"source": "https://console.cloud.google.com/monitoring/alerting/incidents/0.abc?project=proj"}


def test_closed_incident_resolves_the_open_one_and_another_incident_is_distinct() -> None:
    opened = _read(_document())
    closed = _read(_document(state="closed", ended_at=1772448420))
    other = _read(_document(incident_id="0.def"))
    assert closed.status == "resolved" and closed.ends_at == datetime(2026, 3, 2, 10, 47, tzinfo=UTC)
    assert opened.fingerprint == closed.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("Critical", "critical"), ("Error", "high"), ("No severity", "unknown"), (None, "unknown")],
)
def test_severities(severity: Any, expected: str) -> None:
    alert = _read(_document(severity=severity))
    assert alert.severity == expected
    assert alert.severity_original == (severity if expected != "unknown" else None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"policy_name": ""}, "policy_name"),
        ({"state": "acknowledged"}, "state"),
        ({"started_at": "soon"}, "started_at"),
        ({"started_at": -5}, "started_at"),
        ({"incident_id": None}, "incident_id"),
    ],
)
def test_invalid_incidents_are_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(orjson.dumps(_document(**change)), {})


def test_accepts_only_incident_notifications() -> None:
    parser = GcpMonitoringParser()
    assert parser.accepts(_document(), {}) and parser.accepts(_document() | {"version": "1.1"}, {})
    assert not parser.accepts({"version": "4", "incident": {"incident_id": "x"}}, {})
    assert not parser.accepts({"version": "1.2", "incident": "x"}, {})


@st.composite
def notifications(draw: st.DrawFn) -> dict[str, Any]:
    document = _document(
        policy_name=draw(TEXT),
        state=draw(st.sampled_from(["open", "closed"]) | TEXT),
        started_at=draw(st.integers(-(2**70), 2**70) | st.floats() | TEXT),
        ended_at=draw(st.none() | st.integers(0, 2**40)),
        severity=draw(st.none() | TEXT),
        resource=draw(JSON),
    )
    spoil(draw, document["incident"], list(document["incident"]))
    return document


@FUZZ
@given(document=notifications())
def test_never_raises_anything_but_a_parse_error(document: dict[str, Any]) -> None:
    reads_or_refuses(document, {}, "gcp.monitoring")
