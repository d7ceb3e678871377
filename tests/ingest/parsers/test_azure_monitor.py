from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.parsers import ParseError, parse_alerts
from services.ingest.parsers.azure_monitor import AzureMonitorParser, resource_labels
from tests.ingest.parsers.format_fuzz import reads_or_refuses, spoil
from tests.shared.strategies import EDGE_TIMES, FUZZ, JSON, TEXT

VM = "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-01"


def _document(**essentials: Any) -> dict[str, Any]:
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": "/subscriptions/sub-1/providers/Microsoft.AlertsManagement/alerts/a1",
                "alertRule": "web-cpu",
                "severity": "Sev1",
                "signalType": "Metric",
                "monitorCondition": "Fired",
                "monitoringService": "Platform",
                "alertTargetIDs": [VM],
                "firedDateTime": "2026-03-02T10:15:41.6612539Z",
                "description": "CPU high",
            }
            | essentials,
            "alertContext": {
                "condition": {
                    "allOf": [{"metricName": "Percentage CPU", "dimensions": [{"name": "ResourceId", "value": "x1"}]}]
                }
            },
            "customProperties": {"team": "web", "count": 3},
        },
    }


def _read(document: dict[str, Any]) -> Any:
    [alert] = parse_alerts(orjson.dumps(document), {})
    return alert


def test_essentials_are_normalized() -> None:
    alert = _read(_document())
    assert (alert.source, alert.format, alert.name, alert.status) == (
        "azure-monitor",
        "azure.monitor.common",
        "web-cpu",
        "firing",
    )
    assert (alert.severity, alert.severity_original, alert.description) == ("high", "Sev1", "CPU high")
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 41, 661253, UTC)
    assert alert.labels == {
        "signal_type": "Metric",
        "monitoring_service": "Platform",
        "resource_id": VM,
        "subscription": "sub-1",
        "resource_group": "rg-web",
        "resource": "web-01",
        "ResourceId": "x1",
        "team": "web",
    }


@pytest.mark.parametrize(
    ("sev", "severity"),
    [
        ("Sev0", "critical"),
        ("Sev1", "high"),
        ("Sev2", "medium"),
        ("Sev3", "low"),
        ("Sev4", "info"),
        ("Sev9", "unknown"),
    ],
)
def test_azure_severities(sev: str, severity: str) -> None:
    assert _read(_document(severity=sev)).severity == severity


def test_resolved_and_refired_are_the_same_alert_and_another_target_is_not() -> None:
    fired = _read(_document())
    resolved = _read(_document(monitorCondition="Resolved", resolvedDateTime="2026-03-02T11:00:00Z"))
    refired = _read(_document(alertId="/subscriptions/sub-1/providers/Microsoft.AlertsManagement/alerts/a2"))
    # Azure writes the same resource ID in different cases across signal types.
    recased = _read(_document(alertTargetIDs=[VM.lower()]))
    other = _read(_document(alertTargetIDs=[VM.replace("web-01", "web-02")]))
    assert resolved.status == "resolved" and resolved.ends_at == datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert fired.fingerprint == resolved.fingerprint == refired.fingerprint == recased.fingerprint != other.fingerprint


def test_each_dimension_combination_is_its_own_alert() -> None:
    document = _document()
    other = copy.deepcopy(document)
    other["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"] = [{"name": "ResourceId", "value": "x2"}]
    assert _read(document).fingerprint != _read(other).fingerprint


def test_log_alert_links_its_search() -> None:
    document = _document(signalType="Log")
    document["data"]["alertContext"]["condition"]["allOf"][0]["linkToSearchResultsUI"] = "https://portal/search"
    assert _read(document).urls == {"search": "https://portal/search"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"alertRule": ""}, "alertRule"),
        ({"monitorCondition": "Maybe"}, "monitorCondition"),
        ({"alertTargetIDs": "vm"}, "alertTargetIDs"),
        ({"firedDateTime": "today"}, "firedDateTime"),
    ],
)
def test_invalid_essentials_are_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(orjson.dumps(_document(**change)), {})


def test_accepts_only_the_common_schema() -> None:
    assert AzureMonitorParser().accepts(_document(), {})
    assert not AzureMonitorParser().accepts({"schemaId": "Microsoft.Insights/activityLogs", "data": {}}, {})
    assert resource_labels("/subscriptions/s") == {"resource_id": "/subscriptions/s", "subscription": "s"}


@st.composite
def notifications(draw: st.DrawFn) -> dict[str, Any]:
    document = _document(
        alertRule=draw(TEXT),
        severity=draw(st.sampled_from(["Sev0", "Sev4"]) | TEXT),
        monitorCondition=draw(st.sampled_from(["Fired", "Resolved"]) | TEXT),
        alertTargetIDs=draw(st.lists(TEXT, max_size=2)),
        firedDateTime=draw(EDGE_TIMES),
        resolvedDateTime=draw(EDGE_TIMES),
    )
    spoil(draw, document["data"]["essentials"], list(document["data"]["essentials"]))
    spoil(draw, document["data"], ["essentials", "alertContext", "customProperties"])
    if draw(st.booleans()):
        document["data"]["alertContext"] = {"condition": {"allOf": draw(JSON)}}
    return document


@FUZZ
@given(document=notifications())
def test_never_raises_anything_but_a_parse_error(document: dict[str, Any]) -> None:
    reads_or_refuses(document, {}, "azure.monitor.common")
