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


def test_title_and_message_stand_in_for_missing_annotations() -> None:
    [alert] = parse_alerts(_notification(message="CPU is hot"), {})
    assert (alert.summary, alert.description) == ("[FIRING:1] CPU", "CPU is hot")
    assert alert.payload["orgId"] == 3


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
