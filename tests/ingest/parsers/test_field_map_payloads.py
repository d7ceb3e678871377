"""The field maps of docs/examples/field-maps/ read real senders' payloads (written here after each sender's
documented format): expressions, shapes, drops, JSON inside a string, epoch times, tags, fallbacks."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from alertmesh.commands.route import route
from schemas.alert import Alert
from services.ingest.parsers import ParseError, RefusedAlert, parse_alerts, parsers_for, read_alerts
from services.ingest.parsers.field_maps import FieldMap, load_field_maps
from services.ingest.pipeline import process
from services.shared import metrics
from services.shared.deadletter import ConsumedRecord
from tests.docs.markdown_files import EXAMPLES
from tests.ingest.test_poison_fuzz import ROUTING

MAPS = EXAMPLES / "field-maps"


def _read(map_file: str, source: str, body: object) -> list[Alert]:
    parsers = parsers_for(load_field_maps(MAPS / map_file))
    return parse_alerts(orjson.dumps(body), {"alertmesh-source": source}, parsers)


# -- SNS carrying a CloudWatch alarm (https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html) ---------------------------
def _alarm(state: str, reason: str) -> dict[str, Any]:
    return {
        "AlarmName": "api-5xx-rate",
        "AlarmDescription": "More than 5% of API requests fail",
        "AWSAccountId": "123456789012",
        "AlarmConfigurationUpdatedTimestamp": "2026-11-02T10:00:00.000+0000",
        "NewStateValue": state,
        "NewStateReason": reason,
        "StateChangeTime": "2026-12-07T09:14:31.420+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx-rate",
        "OldStateValue": "OK" if state == "ALARM" else "ALARM",
        "OKActions": [],
        "AlarmActions": ["arn:aws:sns:eu-west-1:123456789012:alerts"],
        "InsufficientDataActions": [],
        "Trigger": {"MetricName": "5XXError", "Namespace": "AWS/ApiGateway", "Statistic": "AVERAGE",
                    "Period": 60, "EvaluationPeriods": 3, "ComparisonOperator": "GreaterThanThreshold",
                    "Threshold": 0.05},
    }  # fmt: skip


def _sns(message: str, kind: str = "Notification", subject: str | None = "ALARM: api-5xx-rate") -> dict[str, Any]:
    body = {
        "Type": kind,
        "MessageId": "6b1f2c7e-5c43-5d7b-9a3e-0b8e5b6f1a2d",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:alerts",
        "Subject": subject,
        "Message": message,
        "Timestamp": "2026-12-07T09:14:31.512Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOx",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:alerts:2bcfbf39",
    }  # fmt: skip
    if kind == "SubscriptionConfirmation":
        body["Token"] = (
            "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736"
        )
        body["SubscribeURL"] = (
            "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:alerts&Token=2336412f37"
        )
    return body


def test_sns_wrapped_cloudwatch_alarm_is_read_from_the_json_in_message() -> None:
    [firing] = _read(
        "sns-cloudwatch.yaml",
        "aws-alarms",
        _sns(json.dumps(_alarm("ALARM", "Threshold Crossed: 3 datapoints were greater than the threshold (0.05)."))),
    )
    ok = _alarm("OK", "Threshold Crossed: 3 datapoints were not greater than the threshold (0.05).")
    [resolved] = _read("sns-cloudwatch.yaml", "aws-alarms", _sns(json.dumps(ok), subject="OK: api-5xx-rate"))
    assert (firing.name, firing.status, firing.severity) == ("api-5xx-rate", "firing", "high")
    assert firing.summary.startswith("Threshold Crossed: 3 datapoints were greater")
    assert firing.description == "More than 5% of API requests fail"
    assert firing.labels == {"account": "123456789012", "region": "EU (Ireland)",
                             "topic": "arn:aws:sns:eu-west-1:123456789012:alerts"}  # fmt: skip
    assert firing.starts_at == datetime(2026, 12, 7, 9, 14, 31, 420000, tzinfo=UTC)
    assert (resolved.status, resolved.severity) == ("resolved", "info")
    # The resolution finds its firing run: the same fingerprint (the alarm's ARN).
    assert firing.fingerprint == resolved.fingerprint == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx-rate"


def test_sns_subscription_confirmation_is_dropped_and_counted_not_dead_lettered() -> None:
    counter = metrics.MESSAGES_NOT_ALERTS.labels("aws-alarms", "subscription")
    before = counter._value.get()
    body = _sns("You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:123456789012:alerts.",
                kind="SubscriptionConfirmation", subject=None)  # fmt: skip
    assert _read("sns-cloudwatch.yaml", "aws-alarms", body) == []
    assert counter._value.get() == before + 1


def test_sns_plain_text_notification_uses_the_subject_or_the_topic() -> None:
    [with_subject] = _read("sns-cloudwatch.yaml", "aws-alarms", _sns("Disk 91% full on db-1", subject="Disk space"))
    [without] = _read("sns-cloudwatch.yaml", "aws-alarms", _sns("Disk 91% full on db-1", subject=None))
    assert (with_subject.name, with_subject.summary) == ("Disk space", "Disk 91% full on db-1")
    assert without.name == "alerts"
    assert with_subject.fingerprint == "6b1f2c7e-5c43-5d7b-9a3e-0b8e5b6f1a2d"


def test_a_message_no_shape_takes_is_a_parse_error_naming_the_shapes_tried() -> None:
    with pytest.raises(ParseError) as caught:
        _read("sns-cloudwatch.yaml", "aws-alarms", {"Type": "Surprise", "Message": "{}"})
    assert "no shape of the field map matches the message" in caught.value.reason
    for name in ("subscription (when is False)", "alarm (when is False)", "message (when is False)"):
        assert name in caught.value.reason


# -- Splunk's webhook alert action (https://help.splunk.com/splunk-enterprise/alert-and-respond/alerting-manual/
# 10.0/configure-alert-actions/use-a-webhook-alert-action): search_name is null in Splunk's own example ----------------
SPLUNK = {
    "result": {"sourcetype": "mongod", "count": "8"},
    "sid": "scheduler_admin_search_W2_at_14232356_132",
    "results_link": "http://web.example.local:8000/app/search/@go?sid=scheduler_admin_search_W2_at_14232356_132",
    "search_name": None,
    "owner": "admin",
    "app": "search",
}


def test_splunk_with_a_null_search_name_gets_the_fallback_title() -> None:
    [alert] = _read("splunk.yaml", "splunk", SPLUNK)
    assert alert.name == "Splunk alert in search (admin)"
    assert (alert.fingerprint, alert.severity, alert.severity_original) == (SPLUNK["sid"], "medium", "medium")
    assert alert.labels == {"app": "search", "owner": "admin", "sourcetype": "mongod", "count": "8"}
    assert alert.urls == {"results": SPLUNK["results_link"]}
    named = _read("splunk.yaml", "splunk", SPLUNK | {"search_name": "Mongo errors", "sid": "rt_scheduler_1"})[0]
    assert (named.name, named.fingerprint) == ("Mongo errors", "rt_scheduler_1")


# -- PagerDuty webhooks v3 (https://developer.pagerduty.com/docs/webhooks-overview): incidents are alerts; the other
# event types (here incident.priority_updated) are not ---------------------------------------------------------------
def _pagerduty(event_type: str, status: str = "triggered") -> dict[str, Any]:
    return {
        "event": {
            "id": "01DEN4HPBQAAAG05V5QQYBRZMF",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-12-07T09:20:11.104Z",
            "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                      "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Tenex Engineer",
                      "type": "user_reference"},
            "client": {"name": "PagerDuty"},
            "data": {
                "id": "Q2X4ZRB9Y1DXJ0",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/Q2X4ZRB9Y1DXJ0",
                "html_url": "https://acme.pagerduty.com/incidents/Q2X4ZRB9Y1DXJ0",
                "number": 2104,
                "status": status,
                "incident_key": "d3640fbd41094207a1c11e58e46b1662",
                "created_at": "2026-12-07T09:19:58Z",
                "title": "Checkout latency above SLO",
                "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH",
                            "self": "https://api.pagerduty.com/services/PF9KMXH", "summary": "checkout-api",
                            "type": "service_reference"},
                "assignees": [],
                "escalation_policy": {"id": "PUS0KTE", "summary": "Default", "type": "escalation_policy_reference"},
                "teams": [],
                "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
                "urgency": "high",
                "conference_bridge": None,
                "resolve_reason": None,
            },
        }
    }  # fmt: skip


def test_pagerduty_incidents_are_alerts_and_their_resolution_finds_them() -> None:
    [firing] = _read("pagerduty.yaml", "pagerduty", _pagerduty("incident.triggered"))
    [resolved] = _read("pagerduty.yaml", "pagerduty", _pagerduty("incident.resolved", "resolved"))
    assert (firing.name, firing.status, firing.severity, firing.severity_original) == (
        "Checkout latency above SLO", "firing", "critical", "P1")  # fmt: skip
    assert firing.labels == {"service": "checkout-api", "urgency": "high", "number": "2104"}
    assert firing.urls == {"incident": "https://acme.pagerduty.com/incidents/Q2X4ZRB9Y1DXJ0"}
    assert resolved.status == "resolved" and resolved.fingerprint == firing.fingerprint == "Q2X4ZRB9Y1DXJ0"
    no_priority = _pagerduty("incident.triggered")
    no_priority["event"]["data"]["priority"] = None  # accounts without priorities: the urgency decides
    assert _read("pagerduty.yaml", "pagerduty", no_priority)[0].severity == "high"


@pytest.mark.parametrize("event_type", ["incident.priority_updated", "incident.annotated", "incident.acknowledged"])
def test_pagerduty_events_that_are_not_alerts_are_dropped(event_type: str) -> None:
    assert _read("pagerduty.yaml", "pagerduty", _pagerduty(event_type)) == []


def test_pagerduty_other_resources_are_dead_lettered_with_the_shapes_tried() -> None:
    body = _pagerduty("service.updated")
    with pytest.raises(ParseError, match=r"tried: incident \(when is False\); other-events \(when is False\)"):
        _read("pagerduty.yaml", "pagerduty", body)


# -- Sentry's issue and metric alert webhooks on one URL (https://docs.sentry.io/integrations/integration-platform/
# webhooks/issue-alerts/ and .../metric-alerts/) -------------------------------------------------------------------
SENTRY_ISSUE = {
    "action": "triggered",
    "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    "data": {
        "event": {
            "event_id": "4a2b5b2bcd4e4f6aa3b3e0f1d2c9e8a7",
            "project": 1,
            "issue_id": "1170820242",
            "title": "ZeroDivisionError: division by zero",
            "level": "error",
            "platform": "python",
            "timestamp": 1765098871.391,
            "datetime": "2025-12-07T09:14:31.391000Z",
            "tags": [["environment", "prod"], ["level", "error"], ["server_name", "web-3"]],
            "web_url": "https://sentry.io/organizations/acme/issues/1170820242/events/4a2b5b2bcd4e4f6aa3b3e0f1d2c9e8a7/",
            "issue_url": "https://sentry.io/api/0/issues/1170820242/",
        },
        "triggered_rule": "Errors in checkout",
    },
    "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
}  # fmt: skip


def _sentry_metric(action: str) -> dict[str, Any]:
    return {
        "action": action,
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
        "data": {
            "metric_alert": {
                "id": "941",
                "identifier": 12,
                "title": "Too many errors",
                "status": 2 if action != "resolved" else 0,
                "date_started": "2025-12-07T09:10:00Z",
                "date_detected": "2025-12-07T09:11:00Z",
                "date_closed": "2025-12-07T09:40:00Z" if action == "resolved" else None,
                "alert_rule": {"id": "77", "name": "Too many errors", "aggregate": "count()", "dataset": "events",
                               "query": "level:error", "time_window": 10.0, "threshold_type": 0},
                "projects": ["checkout"],
            },
            "description_text": "1000 events in the last 10 minutes\nFilter: level:error",
            "description_title": f"{action.title()}: Too many errors",
            "web_url": "https://sentry.io/organizations/acme/alerts/rules/details/77/?alert=12",
        },
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
    }  # fmt: skip


def test_sentry_issue_and_metric_alerts_on_one_url_are_two_shapes() -> None:
    [issue] = _read("sentry.yaml", "sentry", SENTRY_ISSUE)
    assert (issue.name, issue.severity, issue.fingerprint) == (
        "ZeroDivisionError: division by zero", "high", "sentry-issue:1170820242")  # fmt: skip
    assert issue.labels == {"environment": "prod", "level": "error", "server_name": "web-3",
                            "rule": "Errors in checkout"}  # fmt: skip
    assert issue.starts_at == datetime(2025, 12, 7, 9, 14, 31, 391000, tzinfo=UTC)
    [critical] = _read("sentry.yaml", "sentry", _sentry_metric("critical"))
    [warning] = _read("sentry.yaml", "sentry", _sentry_metric("warning"))
    [resolved] = _read("sentry.yaml", "sentry", _sentry_metric("resolved"))
    assert (critical.name, critical.severity, critical.status) == ("Too many errors", "critical", "firing")
    assert (warning.severity, resolved.status) == ("medium", "resolved")
    assert critical.fingerprint == resolved.fingerprint == "sentry-metric:941" != issue.fingerprint
    assert critical.labels == {"rule": "Too many errors", "aggregate": "count()"}


# -- A Datadog webhook with a custom template: $DATE is milliseconds as text, $TAGS a comma string ----------------
DATADOG = {
    "id": "7388249174843256823",
    "alert_id": "1048577",
    "title": "[Triggered] CPU above 90% on web-3",
    "date": "1765098871000",
    "transition": "Triggered",
    "priority": "P2",
    "scope": "host:web-3",
    "tags": "env:prod,service:checkout,team:payments,monitor",
    "body": "CPU above 90% for 5 minutes",
    "link": "https://app.datadoghq.com/event/event?id=7388249174843256823",
}


def test_datadog_template_with_milliseconds_as_text_and_comma_tags() -> None:
    [firing] = _read("datadog-template.yaml", "datadog-custom", DATADOG)
    [recovered] = _read(
        "datadog-template.yaml", "datadog-custom", DATADOG | {"transition": "Recovered", "id": "7388249174843299999"}
    )
    assert firing.starts_at == datetime(2025, 12, 7, 9, 14, 31, tzinfo=UTC)
    assert firing.labels == {"env": "prod", "service": "checkout", "team": "payments", "monitor": ""}
    assert (firing.severity, firing.status, recovered.status) == ("high", "firing", "resolved")
    assert firing.fingerprint == recovered.fingerprint == "1048577/host:web-3"
    other_host = _read("datadog-template.yaml", "datadog-custom", DATADOG | {"scope": "host:web-4"})[0]
    assert other_host.fingerprint != firing.fingerprint


# -- Values: epoch strings and units, constants, templates, each over an expression -----------------------------
def _map(**fields: object) -> list[Alert | RefusedAlert]:
    maps = {"edr": FieldMap.model_validate({"title": "${{ 'Detection' }}"} | fields)}
    return read_alerts(orjson.dumps(BODY), {"alertmesh-source": "edr"}, parsers_for(maps))


BODY = {
    "Message": json.dumps({"detections": [{"id": 1, "at": "1765098871123456789", "sev": 93},
                                          {"id": 2, "at": "soon", "sev": 20},
                                          {"id": 3, "at": 1765098871, "sev": 55}]}),
}  # fmt: skip


def test_each_over_json_in_a_string_with_nanosecond_text_times_and_a_severity_range() -> None:
    entries = _map(
        each="${{ FN.from_json(TRIGGER.payload.Message).detections }}",
        fingerprint="det-${{ TRIGGER.item.id }}",
        starts_at="${{ FN.from_epoch(TRIGGER.item.at) }}",
        severity="${{ 'critical' if TRIGGER.item.sev >= 90 else 'medium' if TRIGGER.item.sev >= 50 else 'low' }}",
    )
    first, second, third = entries
    assert isinstance(first, Alert) and isinstance(third, Alert)
    assert (first.name, first.fingerprint, first.severity) == ("Detection", "det-1", "critical")
    assert first.starts_at == datetime(2025, 12, 7, 9, 14, 31, 123456, tzinfo=UTC)
    # The item whose time is not a number: its expression fails, the field is absent, the alert still counts.
    assert isinstance(second, Alert) and second.starts_at is None and second.severity == "low"
    assert (third.severity, third.starts_at) == ("medium", datetime(2025, 12, 7, 9, 14, 31, tzinfo=UTC))


def test_a_required_field_whose_expression_fails_is_refused_saying_why() -> None:
    entries = _map(each="${{ FN.from_json(TRIGGER.payload.Message).detections }}", title="${{ TRIGGER.item.name }}")
    assert all(isinstance(entry, RefusedAlert) for entry in entries)
    assert "no title at ${{ TRIGGER.item.name }} ('${{ TRIGGER.item.name }}': no key 'name' in item" in str(
        entries[0].reason  # type: ignore[union-attr]
    )
    with pytest.raises(ParseError, match=r"'each' .* must lead to a non-empty list \(.*no key 'alerts'"):
        _map(each="${{ FN.from_json(TRIGGER.payload.Message).alerts }}")


def test_numeric_times_in_milli_micro_and_nanoseconds() -> None:
    moment = datetime(2025, 12, 7, 9, 14, 31, tzinfo=UTC)
    for number in (1765098871, 1765098871000, 1765098871000000, 1765098871000000000, "1765098871000", "1765098871.0"):
        body = {"t": number}
        maps = {"edr": FieldMap.model_validate({"title": "${{ 'x' }}", "starts_at": "$.t"})}
        [alert] = parse_alerts(orjson.dumps(body), {"alertmesh-source": "edr"}, parsers_for(maps))
        assert alert.starts_at == moment, number


# -- format: a built-in parser forced for a source, and severity_map after any parser ---------------------------
def test_format_forces_a_built_in_parser_and_its_severity_map_applies(alertmanager_bytes: bytes) -> None:
    entry = FieldMap.model_validate({"format": "alertmanager.v4", "severity_map": {"critical": "high"}})
    parsers = parsers_for({"prom": entry})
    [alert] = parse_alerts(alertmanager_bytes, {"alertmesh-source": "prom"}, parsers)
    assert alert.format == "alertmanager.v4" and alert.source == "prom"
    assert (alert.severity_original, alert.severity) == ("critical", "high")
    with pytest.raises(ParseError, match=r"reads this source as alertmanager.v4, and the message is not"):
        parse_alerts(orjson.dumps({"title": "x"}), {"alertmesh-source": "prom"}, parsers)


def test_a_severity_map_alone_applies_to_the_built_in_parser_of_that_source_only(alertmanager_bytes: bytes) -> None:
    parsers = parsers_for({"prom": FieldMap.model_validate({"severity_map": {"critical": "low"}})})
    [mapped] = parse_alerts(alertmanager_bytes, {"alertmesh-source": "prom"}, parsers)
    [other] = parse_alerts(alertmanager_bytes, {"alertmesh-source": "elsewhere"}, parsers)
    assert (mapped.severity, other.severity) == ("low", "critical")


def test_ingest_commits_a_dropped_message_without_a_dead_letter_or_a_trigger() -> None:
    parsers = parsers_for(load_field_maps(MAPS / "pagerduty.yaml"))
    body = orjson.dumps(_pagerduty("incident.priority_updated"))
    record = ConsumedRecord(value=body, headers={"alertmesh-source": "pagerduty"}, topic="alerts.raw",
                            received_at=datetime.now(UTC))  # fmt: skip
    outcome = process(record, ROUTING, 65_536, parsers)
    assert (outcome.triggers, outcome.failures, outcome.dropped) == ([], [], [])
    fired = process(
        ConsumedRecord(value=orjson.dumps(_pagerduty("incident.triggered")), headers={"alertmesh-source": "pagerduty"},
                       topic="alerts.raw", received_at=datetime.now(UTC)),
        ROUTING, 65_536, parsers,
    )  # fmt: skip
    assert len(fired.triggers) == 1 and fired.failures == []


def test_alertmesh_route_reads_a_source_through_its_field_map(tmp_path: Path) -> None:
    payload = tmp_path / "sentry-metric.json"
    payload.write_bytes(orjson.dumps(_sentry_metric("critical")))
    out, err = io.StringIO(), io.StringIO()
    route([payload], source="sentry", out=out, err=err, field_maps_file=MAPS / "sentry.yaml")
    assert "alert 1/1: 'Too many errors' (source sentry, format generic, status firing, severity critical" in (
        out.getvalue()
    )
    bad = tmp_path / "maps.yaml"
    bad.write_text("sources: {sentry: {title: nope}}\n")
    err = io.StringIO()
    assert route([payload], source="sentry", out=io.StringIO(), err=err, field_maps_file=bad) == 2
    assert f"{bad}:1:27: sources.sentry.title: path 'nope'" in err.getvalue()
