from datetime import UTC, datetime

import orjson
import pytest

from services.ingest.parsers import ParseError, parse_alerts


def _group(**alert: object) -> bytes:
    base: dict[str, object] = {"status": "firing", "labels": {"alertname": "DiskFull"}}
    return orjson.dumps({"version": "4", "status": "firing", "alerts": [base | alert]})


def test_sample_is_normalized(alertmanager_bytes: bytes) -> None:
    [alert] = parse_alerts(alertmanager_bytes, {})
    assert alert.source == "alertmanager"
    assert alert.format == "alertmanager.v4"
    assert alert.status == "firing"
    assert alert.name == "ProbeFailure"
    assert alert.severity == "critical"
    assert alert.summary == "BlackBox Probe Failure"
    assert alert.description == "https://server.example.org has been down for 5m"
    assert alert.fingerprint == "1a30ba71cca2921f"
    assert alert.starts_at == datetime(2023, 2, 6, 13, 8, 45, 828000, UTC)
    assert alert.ends_at is None
    assert alert.generator_url is not None and alert.generator_url.startswith("http://prometheus.example.org")
    assert alert.external_url == "http://alertmanager.example.org:9093"
    assert alert.labels["instance"] == "https://server.example.org"
    assert alert.payload == orjson.loads(alertmanager_bytes)["alerts"][0]


def test_one_alert_per_element() -> None:
    body = orjson.dumps(
        {
            "version": "4",
            "status": "firing",
            "alerts": [
                {"status": "firing", "labels": {"alertname": "A", "severity": "warning"}},
                {"status": "resolved", "labels": {"alertname": "B", "severity": "error"}},
            ],
        }
    )
    first, second = parse_alerts(body, {})
    assert (first.name, first.status, first.severity) == ("A", "firing", "medium")
    assert (second.name, second.status, second.severity) == ("B", "resolved", "high")


def test_missing_fingerprint_is_computed_from_labels() -> None:
    [one] = parse_alerts(_group(labels={"alertname": "X", "job": "j"}), {})
    [same] = parse_alerts(_group(labels={"job": "j", "alertname": "X"}), {})
    [other] = parse_alerts(_group(labels={"alertname": "X", "job": "k"}), {})
    assert one.fingerprint == same.fingerprint != other.fingerprint


def test_group_status_is_used_when_alert_has_none() -> None:
    body = orjson.dumps({"version": "4", "status": "resolved", "alerts": [{"labels": {"alertname": "A"}}]})
    assert parse_alerts(body, {})[0].status == "resolved"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (orjson.dumps({"version": "4", "alerts": []}), "'alerts' must be a non-empty list"),
        (orjson.dumps({"version": "4", "alerts": ["x"]}), r"alerts\[0\] must be an object"),
        (_group(labels={"job": "x"}), r"alerts\[0\]\.labels\.alertname is required"),
        (_group(labels={"alertname": "A", "n": 1}), "not a string: n"),
        (_group(startsAt="not-a-time"), r"alerts\[0\]\.startsAt: invalid timestamp 'not-a-time'"),
        (_group(status="pending"), "status must be 'firing' or 'resolved'"),
    ],
)
def test_invalid_groups_give_precise_reasons(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(body, {})


def test_sample_keeps_the_original_severity_and_gathers_urls(alertmanager_bytes: bytes) -> None:
    [alert] = parse_alerts(alertmanager_bytes, {})
    assert alert.severity_original == "critical"
    assert alert.urls["source"] == "http://alertmanager.example.org:9093"
    assert alert.urls["generator"] == alert.generator_url


def test_unmapped_severity_is_unknown_with_the_word_kept() -> None:
    [alert] = parse_alerts(_group(labels={"alertname": "X", "severity": "Sev-Purple"}), {})
    assert (alert.severity, alert.severity_original) == ("unknown", "Sev-Purple")


def test_receiver_and_group_fields_are_kept_as_group_context() -> None:
    body = orjson.dumps(
        {
            "version": "4",
            "receiver": "team-web/pager",
            "status": "firing",
            "groupKey": '{}/{team="web"}:{alertname="DiskFull"}',
            "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": {"alertname": "DiskFull", "team": "web"},
            "commonAnnotations": {"summary": "disk full"},
            "truncatedAlerts": 2,
            "alerts": [
                {"status": "firing", "labels": {"alertname": "DiskFull", "team": "web", "host": "a"}},
                {"status": "firing", "labels": {"alertname": "DiskFull", "team": "web", "host": "b"}},
            ],
        }
    )
    alerts = parse_alerts(body, {})
    assert len(alerts) == 2
    for alert in alerts:
        assert alert.group is not None
        assert alert.group.receiver == "team-web/pager"
        assert alert.group.key == '{}/{team="web"}:{alertname="DiskFull"}'
        assert alert.group.labels == {"alertname": "DiskFull"}
        assert alert.group.common_labels == {"alertname": "DiskFull", "team": "web"}
        assert alert.group.common_annotations == {"summary": "disk full"}
        assert (alert.group.status, alert.group.truncated_alerts, alert.group.title) == ("firing", 2, None)


def test_a_group_without_truncated_alerts_truncated_none() -> None:
    [alert] = parse_alerts(_group(), {})
    assert alert.group is not None and alert.group.truncated_alerts == 0


def test_a_bad_group_status_does_not_refuse_alerts_that_have_their_own() -> None:
    body = orjson.dumps(
        {"version": "4", "status": "paging", "alerts": [{"status": "firing", "labels": {"alertname": "A"}}]}
    )
    [alert] = parse_alerts(body, {})
    assert alert.status == "firing" and alert.group is not None and alert.group.status is None


def test_a_relative_generator_url_is_joined_with_the_external_url() -> None:
    body = orjson.dumps(
        {
            "version": "4",
            "status": "firing",
            "externalURL": "http://am.example.org:9093",
            "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "generatorURL": "/graph?g0.expr=up"}],
        }
    )
    [alert] = parse_alerts(body, {})
    assert alert.generator_url == "http://am.example.org:9093/graph?g0.expr=up"
