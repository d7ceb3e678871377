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

INCIDENT = {
    "id": "PINC1",
    "type": "incident",
    "html_url": "https://acme.pagerduty.com/incidents/PINC1",
    "number": 7,
    "status": "triggered",
    "title": "Disk full on db-1",
    "created_at": "2026-03-02T10:00:00Z",
    "service": {"id": "PSVC", "summary": "Databases", "type": "service_reference"},
    "urgency": "low",
    "priority": None,
}


def webhook(event_type: str = "incident.triggered", **incident: Any) -> list[Alert]:
    event = {
        "id": "01EV",
        "event_type": event_type,
        "resource_type": "incident",
        "occurred_at": "2026-03-02T10:05:00Z",
        "data": INCIDENT | incident,
    }
    return parse_alerts(orjson.dumps({"event": event}), {})


def events(**fields: Any) -> list[Alert]:
    body = {
        "routing_key": "R1",
        "event_action": "trigger",
        "dedup_key": "disk/db-1",
        "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "warning"},
    }
    return parse_alerts(orjson.dumps(body | fields), {})


def test_a_triggered_incident_is_a_firing_alert() -> None:
    [alert] = webhook()
    assert (alert.source, alert.format, alert.status, alert.name) == (
        "pagerduty", "pagerduty.v3", "firing", "Disk full on db-1",
    )  # fmt: skip
    assert (alert.severity, alert.severity_original) == ("low", "low")
    assert alert.labels == {"service": "Databases", "urgency": "low", "number": "7", "status": "triggered"}
    assert alert.starts_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert alert.urls == {"source": "https://acme.pagerduty.com/incidents/PINC1"}


def test_priority_outranks_urgency_for_severity() -> None:
    [alert] = webhook(priority={"id": "PP", "summary": "P1", "type": "priority"}, urgency="low")
    assert (alert.severity, alert.severity_original) == ("critical", "P1")


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("incident.acknowledged", "firing"),
        ("incident.unacknowledged", "firing"),
        ("incident.reopened", "firing"),
        ("incident.resolved", "resolved"),
    ],
)
def test_every_state_change_of_an_incident_is_the_same_alert(event_type: str, status: str) -> None:
    [first], [later] = webhook(), webhook(event_type)
    assert later.status == status and later.fingerprint == first.fingerprint
    assert later.ends_at == (datetime(2026, 3, 2, 10, 5, tzinfo=UTC) if status == "resolved" else None)


def test_two_incidents_are_two_alerts() -> None:
    assert webhook()[0].fingerprint != webhook(id="PINC2")[0].fingerprint


@pytest.mark.parametrize(
    "event_type",
    ["incident.annotated", "incident.priority_updated", "incident.escalated", "pagey.ping", "service.updated"],
)
def test_events_that_are_not_incident_state_changes_are_refused_by_name(event_type: str) -> None:
    with pytest.raises(ParseError, match=f"'{event_type}' is not an alert"):
        webhook(event_type)


@pytest.mark.parametrize(
    ("incident", "reason"),
    [({"id": ""}, r"data.id is required"), ({"title": None}, "data.title is required"), ({"service": "x"}, "object")],
)
def test_an_incident_without_its_identity_is_refused(incident: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        webhook(**incident)


def test_an_events_api_trigger_and_its_resolve_are_one_alert() -> None:
    [trigger] = events(links=[{"href": "https://runbook/x", "text": "Runbook"}], client_url="https://mon/x")
    [resolve] = events(event_action="resolve", payload=None)
    assert (trigger.format, trigger.status, trigger.severity) == ("pagerduty.events.v2", "firing", "medium")
    assert (resolve.status, resolve.name) == ("resolved", "disk/db-1")
    assert trigger.fingerprint == resolve.fingerprint
    assert trigger.urls == {"source": "https://mon/x", "link": "https://runbook/x"}
    assert trigger.labels == {"source": "db-1"}


def test_events_api_dedup_keys_and_routing_keys_separate_alerts() -> None:
    [base] = events()
    assert base.fingerprint != events(dedup_key="disk/db-2")[0].fingerprint
    assert base.fingerprint != events(routing_key="R2")[0].fingerprint


def test_a_trigger_without_dedup_key_is_identified_by_its_content() -> None:
    [first], [again] = events(dedup_key=None), events(dedup_key=None)
    [other] = events(dedup_key=None, payload={"summary": "Disk full on db-2", "source": "db-2"})
    assert first.fingerprint == again.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"event_action": "explode"}, "event_action must be trigger, acknowledge or resolve"),
        ({"event_action": "resolve", "dedup_key": ""}, "dedup_key is required to resolve"),
        ({"payload": {"source": "db-1"}}, "payload.summary is required"),
        ({"payload": {"summary": "x", "timestamp": "soon"}}, "invalid timestamp"),
        ({"links": "https://x"}, "links must be a list"),
    ],
)
def test_invalid_events_api_bodies_give_precise_reasons(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        events(**fields)


def test_every_pagerduty_sample_and_only_those_are_read_as_pagerduty() -> None:
    assert_samples_taken_by("pagerduty", ["pagerduty.v3", "pagerduty.events.v2"])


@FUZZ
@given(body=spoiled_sample("pagerduty"))
def test_a_spoiled_pagerduty_payload_reads_or_is_refused_with_a_reason(body: bytes) -> None:
    assert_reads_or_refuses(body, "pagerduty")


@pytest.mark.parametrize(
    ("firing", "resolved"),
    [
        ("v3-incident-triggered.json", "v3-incident-resolved.json"),
        ("v3-incident-acknowledged.json", "v3-incident-resolved.json"),
    ],
)
def test_a_resolved_sample_finds_the_run_its_firing_started(firing: str, resolved: str) -> None:
    assert_resolved_finds_its_firing_run("pagerduty", firing, resolved)
