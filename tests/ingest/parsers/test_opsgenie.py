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

ALERT = {
    "alertId": "a-1",
    "message": "Queue backlog",
    "alias": "backlog-billing",
    "tinyId": "12",
    "tags": ["env:prod", "queue"],
    "details": {"queue": "billing", "depth": 12000},
    "priority": "P1",
    "createdAt": 1772446523574,
    "description": "Backlog above 10k",
}


def webhook(action: str = "Create", **alert: Any) -> list[Alert]:
    body = {"action": action, "alert": ALERT | alert, "source": {"type": "api"}, "integrationName": "Webhook"}
    return parse_alerts(orjson.dumps(body), {})


def test_a_created_alert_is_firing_with_priority_tags_and_details() -> None:
    [alert] = webhook()
    assert (alert.source, alert.format, alert.status, alert.name) == ("opsgenie", "opsgenie", "firing", "Queue backlog")
    assert (alert.severity, alert.severity_original, alert.description) == ("critical", "P1", "Backlog above 10k")
    assert alert.labels.items() >= {"env": "prod", "tag:queue": "true", "queue": "billing", "depth": "12000"}.items()
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 23, 574000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("action", "status"),
    [("Acknowledge", "firing"), ("UnAcknowledge", "firing"), ("Close", "resolved"), ("Delete", "resolved")],
)
def test_every_open_or_close_of_an_alert_is_the_same_alert(action: str, status: str) -> None:
    [first], [later] = webhook(), webhook(action)
    assert later.status == status and later.fingerprint == first.fingerprint


def test_the_alert_id_not_the_reused_alias_identifies_an_alert() -> None:
    [first], [next_one] = webhook(), webhook(alertId="a-2")
    assert first.fingerprint != next_one.fingerprint
    [alias_only] = webhook(alertId=None)
    assert alias_only.fingerprint == webhook(alertId="", createdAt=1)[0].fingerprint != first.fingerprint


@pytest.mark.parametrize("action", ["AddNote", "AddTags", "Escalate", "UpdatePriority", "TakeOwnership", "Snooze"])
def test_actions_that_do_not_open_or_close_are_refused_by_name(action: str) -> None:
    with pytest.raises(ParseError, match=f"'{action}' is not an alert"):
        webhook(action)


@pytest.mark.parametrize(
    ("alert", "reason"),
    [
        ({"message": ""}, "alert.message is required"),
        ({"alertId": None, "alias": None}, "alert.alias is required"),
        ({"tags": "env:prod"}, None),
        ({"tags": [1]}, "tags must be a list of strings"),
        ({"details": ["x"]}, "details must be an object"),
        ({"createdAt": "tuesday"}, "invalid timestamp"),
    ],
)
def test_invalid_alerts_give_precise_reasons(alert: dict[str, Any], reason: str | None) -> None:
    if reason is None:  # a comma-separated tag string is read too
        assert webhook(**alert)[0].labels["env"] == "prod"
        return
    with pytest.raises(ParseError, match=reason):
        webhook(**alert)


def test_every_opsgenie_sample_and_only_those_are_read_as_opsgenie() -> None:
    assert_samples_taken_by("opsgenie", ["opsgenie"])


@FUZZ
@given(body=spoiled_sample("opsgenie"))
def test_a_spoiled_opsgenie_payload_reads_or_is_refused_with_a_reason(body: bytes) -> None:
    assert_reads_or_refuses(body, "opsgenie")


@pytest.mark.parametrize(("firing", "resolved"), [("create.json", "close.json")])
def test_a_resolved_sample_finds_the_run_its_firing_started(firing: str, resolved: str) -> None:
    assert_resolved_finds_its_firing_run("opsgenie", firing, resolved)
