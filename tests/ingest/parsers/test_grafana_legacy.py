from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.parsers import ParseError, parse_alerts
from services.ingest.parsers.grafana_legacy import GrafanaLegacyParser
from tests.ingest.parsers.format_fuzz import reads_or_refuses, spoil
from tests.shared.strategies import FUZZ, JSON, TEXT


def _document(**fields: Any) -> dict[str, Any]:
    return {
        "dashboardId": 1,
        "evalMatches": [{"value": 1, "metric": "Count", "tags": {}}],
        "imageUrl": "https://grafana.example.com/render/panel.png",
        "message": "Notification Message",
        "orgId": 1,
        "panelId": 2,
        "ruleId": 7,
        "ruleName": "Panel Title alert",
        "ruleUrl": "https://grafana.example.com/d/abc/dash?viewPanel=2",
        "state": "alerting",
        "tags": {"severity": "warning", "team": "web"},
        "title": "[Alerting] Panel Title alert",
    } | fields


def _read(document: dict[str, Any]) -> Any:
    [alert] = parse_alerts(orjson.dumps(document), {})
    return alert


def test_notification_is_normalized() -> None:
    alert = _read(_document())
    assert (alert.source, alert.format, alert.name, alert.status) == (
        "grafana",
        "grafana.legacy",
        "Panel Title alert",
        "firing",
    )
    assert (alert.severity, alert.severity_original) == ("medium", "warning")
    assert (alert.summary, alert.description) == ("[Alerting] Panel Title alert", "Notification Message")
    assert alert.labels == {
        "severity": "warning",
        "team": "web",
        "dashboard_id": "1",
        "panel_id": "2",
        "state": "alerting",
    }
    assert alert.urls == {
        "source": "https://grafana.example.com/d/abc/dash?viewPanel=2",
        "image": "https://grafana.example.com/render/panel.png",
    }


@pytest.mark.parametrize(
    ("state", "status"), [("alerting", "firing"), ("no_data", "firing"), ("ok", "resolved"), ("paused", "resolved")]
)
def test_states(state: str, status: str) -> None:
    alert = _read(_document(state=state))
    assert alert.status == status
    assert alert.fingerprint == _read(_document()).fingerprint


def test_a_rule_is_identified_within_its_organization() -> None:
    first = _read(_document())
    assert first.fingerprint != _read(_document(orgId=2)).fingerprint
    assert first.fingerprint != _read(_document(ruleId=8)).fingerprint
    assert first.fingerprint == _read(_document(title="[OK] renamed", evalMatches=[])).fingerprint


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ruleName": ""}, "ruleName"),
        ({"state": "pending"}, "state"),
        ({"ruleId": "7"}, "ruleId"),
        ({"tags": ["a"]}, "tags"),
    ],
)
def test_invalid_notifications_are_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(orjson.dumps(_document(**change)), {})


def test_unified_alerting_bodies_are_not_taken() -> None:
    assert GrafanaLegacyParser().accepts(_document(), {})
    assert not GrafanaLegacyParser().accepts(_document(alerts=[], version="1"), {})
    [alert] = parse_alerts(
        orjson.dumps(
            {"version": "1", "state": "alerting", "ruleName": "x", "alerts": [{"labels": {"alertname": "A"}}]}
        ),
        {},
    )
    assert alert.format == "grafana.v1"


@st.composite
def notifications(draw: st.DrawFn) -> dict[str, Any]:
    document = _document(
        ruleName=draw(TEXT),
        state=draw(st.sampled_from(["alerting", "ok", "no_data", "paused"]) | TEXT),
        ruleId=draw(st.integers(-(2**70), 2**70)),
        orgId=draw(st.integers(-5, 5) | JSON),
        tags=draw(st.dictionaries(TEXT, JSON, max_size=3)),
        evalMatches=draw(JSON),
    )
    spoil(draw, document, list(document))
    return document


@FUZZ
@given(document=notifications())
def test_never_raises_anything_but_a_parse_error(document: dict[str, Any]) -> None:
    reads_or_refuses(document, {}, "grafana.legacy")
