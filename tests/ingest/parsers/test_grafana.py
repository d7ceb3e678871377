from datetime import UTC, datetime

import orjson
import pytest

from services.ingest.parsers import ParseError, parse_alerts


def _notification(**fields: object) -> bytes:
    alert: dict[str, object] = {"status": "firing", "labels": {"alertname": "CPU"}, "values": {"A": 1.5}}
    base: dict[str, object] = {"version": "1", "orgId": 3, "state": "alerting", "title": "[FIRING:1] CPU"}
    return orjson.dumps(base | {"alerts": [alert]} | fields)


def test_sample_is_normalized(grafana_bytes: bytes) -> None:
    [alert] = parse_alerts(grafana_bytes, {})
    assert (alert.source, alert.format, alert.status) == ("grafana", "grafana.v1", "firing")
    assert alert.name == "High memory usage"
    assert (alert.summary, alert.description) == ("zone us-1", "The system has high memory usage")
    assert alert.fingerprint == "c6eadffa33fcdf37"
    assert alert.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, UTC)
    assert alert.ends_at is None
    assert (alert.severity, alert.severity_original) == ("unknown", None)
    assert alert.urls == {
        "generator": "https://play.grafana.org/alerting/1afz29v7z/edit",
        "source": "https://play.grafana.org/",
        "runbook": "https://myrunbook.com/runbook/1234",
        # The sample's empty dashboardURL and panelURL are left out; the Go-escaped \\u0026 is a plain '&'.
        "silence": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage",
    }
    assert alert.payload["values"] == {"B": 44.23943737541908, "C": 1}
    assert alert.payload["orgId"] == 1 and alert.payload["state"] == "alerting"
    assert alert.payload["title"] == "[FIRING:1] High memory usage (blue us-1)"
    assert alert.payload["message"].startswith("**Firing**")


def test_the_group_title_and_message_are_group_context_not_each_alert_summary() -> None:
    alerts = [
        {"status": "firing", "labels": {"alertname": "CPU", "host": "a"}, "annotations": {"summary": "a is hot"}},
        {"status": "firing", "labels": {"alertname": "CPU", "host": "b"}},
    ]
    body = _notification(alerts=alerts, title="Alerts firing: 2", message="2 alerts", receiver="ops", groupKey="k")
    first, second = parse_alerts(body, {})
    assert (first.summary, first.description) == ("a is hot", "")
    # No annotation of its own: empty, never the group's "Alerts firing: 2".
    assert (second.summary, second.description) == ("", "")
    for alert in (first, second):
        assert alert.group is not None
        assert (alert.group.title, alert.group.message) == ("Alerts firing: 2", "2 alerts")
        assert (alert.group.receiver, alert.group.key) == ("ops", "k")
    assert first.payload["orgId"] == 3


def test_group_labels_common_labels_and_truncated_alerts_are_kept_as_group_context() -> None:
    body = _notification(
        groupLabels={"alertname": "CPU"},
        commonLabels={"alertname": "CPU", "team": "web"},
        commonAnnotations={"runbook_url": "https://r"},
        truncatedAlerts=3,
        status="firing",
    )
    [alert] = parse_alerts(body, {})
    assert alert.group is not None
    assert alert.group.labels == {"alertname": "CPU"}
    assert alert.group.common_labels == {"alertname": "CPU", "team": "web"}
    assert alert.group.common_annotations == {"runbook_url": "https://r"}
    assert (alert.group.truncated_alerts, alert.group.status) == (3, "firing")


@pytest.mark.parametrize("value", [-1, "3", 1.5, True])
def test_a_truncated_count_that_is_not_a_count_is_refused(value: object) -> None:
    with pytest.raises(ParseError, match="truncatedAlerts must be a non-negative integer"):
        parse_alerts(_notification(truncatedAlerts=value), {})


@pytest.mark.parametrize(
    ("external", "path", "joined"),
    [
        ("https://g.example.com/", "/alerting/grafana/u1/view?orgId=1", "https://g.example.com/alerting/grafana/u1/view?orgId=1"),
        ("https://g.example.com", "/alerting/grafana/u1/view", "https://g.example.com/alerting/grafana/u1/view"),
        # Grafana under a sub path: its paths may carry the sub path already, or not.
        ("https://x.example.com/grafana/", "/grafana/alerting/grafana/u1/view", "https://x.example.com/grafana/alerting/grafana/u1/view"),
        ("https://x.example.com/grafana/", "/alerting/grafana/u1/view", "https://x.example.com/grafana/alerting/grafana/u1/view"),
        # Already whole: kept.
        ("https://g.example.com/", "https://other.example.com/a", "https://other.example.com/a"),
    ],
)  # fmt: skip
def test_grafana_12_relative_links_are_joined_with_the_external_url(external: str, path: str, joined: str) -> None:
    item = {
        "status": "firing",
        "labels": {"alertname": "CPU"},
        "generatorURL": path,
        "silenceURL": "/alerting/silence/new?matcher=alertname%3DCPU",
        "dashboardURL": "/d/abc",
        "panelURL": "",
        "imageURL": "https://images.example.com/shot.png",
    }
    [alert] = parse_alerts(_notification(alerts=[item], externalURL=external), {})
    assert alert.generator_url == joined and alert.urls["generator"] == joined
    assert alert.urls["silence"].startswith("https://") and alert.urls["dashboard"].startswith("https://")
    assert alert.urls["silence"].endswith("/alerting/silence/new?matcher=alertname%3DCPU")
    assert "panel" not in alert.urls
    assert alert.urls["image"] == "https://images.example.com/shot.png"


def test_a_relative_link_without_an_external_url_is_kept_as_sent() -> None:
    item = {"status": "firing", "labels": {"alertname": "CPU"}, "generatorURL": "/alerting/grafana/u1/view"}
    [alert] = parse_alerts(_notification(alerts=[item]), {})
    assert alert.generator_url == "/alerting/grafana/u1/view"


def test_alerts_without_labels_or_fingerprint_get_distinct_stable_fingerprints() -> None:
    alerts = [
        {"status": "firing", "generatorURL": "https://g/alerting/grafana/u1/view", "values": {"A": 1}},
        {"status": "firing", "generatorURL": "https://g/alerting/grafana/u2/view", "values": {"A": 1}},
        {"status": "firing", "annotations": {"summary": "disk"}},
        {"status": "firing", "annotations": {"summary": "memory"}},
    ]
    first = parse_alerts(_notification(alerts=alerts), {})
    again = parse_alerts(_notification(alerts=[item | {"values": {"A": 9}} for item in alerts]), {})
    fingerprints = [alert.fingerprint for alert in first]
    assert len(set(fingerprints)) == 4
    # Another evaluation (other values) of the same rules: the same alerts.
    assert [alert.fingerprint for alert in again] == fingerprints


def test_dashboard_and_panel_links_and_severity() -> None:
    item = {
        "status": "resolved",
        "labels": {"alertname": "CPU", "severity": "Warning"},
        "dashboardURL": "https://g/d/abc",
        "panelURL": "https://g/d/abc?viewPanel=2",
    }
    [alert] = parse_alerts(_notification(alerts=[item], state="ok"), {})
    assert alert.status == "resolved"
    assert (alert.severity, alert.severity_original) == ("medium", "Warning")
    assert alert.urls == {"dashboard": "https://g/d/abc", "panel": "https://g/d/abc?viewPanel=2"}


def test_state_gives_the_status_of_an_alert_without_one() -> None:
    [alert] = parse_alerts(_notification(alerts=[{"labels": {"alertname": "CPU"}}], state="ok"), {})
    assert alert.status == "resolved"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"alerts": []}, "'alerts' must be a non-empty list"),
        ({"orgId": "one"}, "orgId must be an integer"),
        ({"alerts": [{"status": "firing", "labels": {}}], "title": ""}, r"alerts\[0\].labels.alertname is required"),
        ({"alerts": [{"status": "firing", "labels": {"alertname": "A"}, "values": [1]}]}, "values must be an object"),
        ({"alerts": [{"status": "pending", "labels": {"alertname": "A"}}]}, "status must be 'firing' or 'resolved'"),
    ],
)
def test_invalid_notifications_give_precise_reasons(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(_notification(**fields), {})
