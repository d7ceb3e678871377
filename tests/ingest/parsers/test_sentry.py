from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given

from schemas import Trigger
from schemas.alert import Alert
from schemas.identity import idempotency_key
from services.ingest.parsers import ParseError, parse_alerts
from services.orchestrator.lifecycle import firing_run_id
from tests.ingest.parsers.vendor_samples import (
    assert_reads_or_refuses,
    assert_resolved_finds_its_firing_run,
    assert_samples_taken_by,
    spoiled_sample,
)
from tests.shared.strategies import FUZZ

EVENT = {
    "issue_id": "1170820242",
    "title": "ZeroDivisionError: division by zero",
    "level": "error",
    "culprit": "app.views in index",
    "datetime": "2026-03-02T10:15:31.204000Z",
    "tags": [["environment", "prod"], ["server_name", "web-1"]],
    "web_url": "https://acme.sentry.io/issues/1170820242/events/abc/",
}
INCIDENT = {
    "id": "77",
    "identifier": "4",
    "title": "Errors",
    "date_started": "2026-03-02T10:20:00Z",
    "date_closed": None,
    "alert_rule": {"id": "9", "name": "Too many errors"},
    "projects": ["web"],
}


def integration(action: str, **data: Any) -> list[Alert]:
    body = {"action": action, "data": data, "installation": {"uuid": "u"}, "actor": {"type": "application"}}
    return parse_alerts(orjson.dumps(body), {})


def test_an_issue_alert_is_a_firing_alert_of_its_issue() -> None:
    [alert] = integration("triggered", event=EVENT, triggered_rule="New errors")
    assert (alert.source, alert.format, alert.status) == ("sentry", "sentry", "firing")
    assert (alert.name, alert.severity, alert.severity_original) == (EVENT["title"], "high", "error")
    assert alert.labels == {"environment": "prod", "server_name": "web-1", "culprit": "app.views in index",
                            "triggered_rule": "New errors"}  # fmt: skip
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 31, 204000, tzinfo=UTC)
    assert alert.urls == {"source": EVENT["web_url"]}


def test_an_issue_resolved_finds_the_issue_alert_that_fired() -> None:
    [fired] = integration("triggered", event=EVENT)
    issue = {"id": "1170820242", "title": EVENT["title"], "level": "error", "project": {"slug": "web"}}
    [resolved] = integration("resolved", issue=issue)
    [reopened] = integration("unresolved", issue=issue)
    assert (resolved.status, reopened.status) == ("resolved", "firing")
    assert fired.fingerprint == resolved.fingerprint == reopened.fingerprint
    assert resolved.labels["project"] == "web"


def test_an_issue_resolved_finds_its_creation_and_a_regression_is_a_new_occurrence() -> None:
    issue = {"id": "11", "title": "x", "firstSeen": "2026-03-02T10:00:00Z", "lastSeen": "2026-03-02T12:00:00Z"}
    [created], [resolved], [regressed] = (
        integration(action, issue=issue) for action in ("created", "resolved", "unresolved")
    )
    trigger = Trigger(workflow="w", alert=resolved, route="r", idempotency_key="k")
    assert firing_run_id(trigger) == idempotency_key(created, "w") != idempotency_key(regressed, "w")


@pytest.mark.parametrize("action", ["assigned", "archived", "ignored"])
def test_issue_actions_that_are_not_alert_states_are_refused_by_name(action: str) -> None:
    with pytest.raises(ParseError, match=f"'{action}' is not an alert state"):
        integration(action, issue={"id": "1", "title": "x"})


@pytest.mark.parametrize(
    ("action", "status", "severity"),
    [("critical", "firing", "critical"), ("warning", "firing", "medium"), ("resolved", "resolved", "unknown")],
)
def test_a_metric_alert_incident_is_one_alert_through_its_states(action: str, status: str, severity: str) -> None:
    [alert] = integration(action, metric_alert=INCIDENT, description_title="Critical: Errors", web_url="https://s/a")
    assert (alert.name, alert.status, alert.severity) == ("Too many errors", status, severity)
    assert alert.fingerprint == integration("critical", metric_alert=INCIDENT)[0].fingerprint
    assert alert.fingerprint != integration("critical", metric_alert=INCIDENT | {"id": "78"})[0].fingerprint
    assert alert.urls == {"source": "https://s/a"} and alert.summary == "Critical: Errors"


def test_an_error_resource_is_a_firing_alert_of_its_issue() -> None:
    [alert] = integration("created", error=EVENT)
    assert alert.status == "firing" and alert.fingerprint == integration("triggered", event=EVENT)[0].fingerprint


def test_the_plugin_body_is_a_firing_alert_of_its_issue() -> None:
    event = {"title": EVENT["title"], "timestamp": 1772446531.5, "tags": [["environment", "prod"]]}
    body = {"id": "1170820242", "project": "web", "culprit": "app.views in index", "level": "warning", "event": event}
    body |= {"url": "https://acme.sentry.io/issues/1170820242/", "message": "division by zero"}
    [alert] = parse_alerts(orjson.dumps(body), {})
    assert (alert.format, alert.status, alert.name, alert.severity) == (
        "sentry.plugin", "firing", EVENT["title"], "medium",
    )  # fmt: skip
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 31, 500000, tzinfo=UTC)
    assert alert.fingerprint == integration("triggered", event=EVENT)[0].fingerprint


@pytest.mark.parametrize(
    ("action", "data", "reason"),
    [
        ("triggered", {"event": EVENT | {"issue_id": None}}, "issue_id is required"),
        ("triggered", {"event": EVENT | {"title": ""}}, "event.title is required"),
        ("triggered", {"event": EVENT | {"tags": "env"}}, "tags must be a list"),
        ("paused", {"metric_alert": INCIDENT}, "action must be critical, warning or resolved"),
        ("critical", {"metric_alert": INCIDENT | {"id": None, "identifier": None}}, "id is required"),
        ("critical", {"metric_alert": INCIDENT | {"alert_rule": None, "title": ""}}, "alert_rule.name is required"),
        ("resolved", {"issue": {"id": "1", "title": "x", "firstSeen": "yesterday"}}, "firstSeen"),
    ],
)
def test_invalid_webhooks_give_precise_reasons(action: str, data: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        integration(action, **data)


def test_every_sentry_sample_and_only_those_are_read_as_sentry() -> None:
    assert_samples_taken_by("sentry", ["sentry", "sentry.plugin"])


@FUZZ
@given(body=spoiled_sample("sentry"))
def test_a_spoiled_sentry_payload_reads_or_is_refused_with_a_reason(body: bytes) -> None:
    assert_reads_or_refuses(body, "sentry")


@pytest.mark.parametrize(("firing", "resolved"), [("metric-alert-critical.json", "metric-alert-resolved.json")])
def test_a_resolved_sample_finds_the_run_its_firing_started(firing: str, resolved: str) -> None:
    assert_resolved_finds_its_firing_run("sentry", firing, resolved)
