from __future__ import annotations

from datetime import UTC, datetime

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

DEFAULT = {
    "body": "%%%\nload is 5\n%%%",
    "last_updated": "1772446523000",
    "event_type": "query_alert_monitor",
    "title": "[Triggered on {host:web-1,env:prod}] [P3] Load high",
    "date": "1772446523000",
    "org": {"id": "1", "name": "Acme"},
    "id": "77",
}


def read(**fields: object) -> list[Alert]:
    return parse_alerts(orjson.dumps(DEFAULT | fields), {})


def test_the_default_template_reads_name_scope_priority_and_date_from_its_fields() -> None:
    [alert] = read()
    assert (alert.source, alert.format, alert.name, alert.status) == ("datadog", "datadog", "Load high", "firing")
    assert (alert.severity, alert.severity_original) == ("medium", "P3")
    assert alert.labels["scope"] == "host:web-1,env:prod" and alert.labels["host"] == "web-1"
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 23, tzinfo=UTC)
    assert alert.description == "%%%\nload is 5\n%%%"


def test_the_event_id_does_not_identify_the_alert_but_the_scope_does() -> None:
    [first], [again] = read(), read(id="78", date="1772446999000")
    [other] = read(title="[Triggered on {host:web-2,env:prod}] [P3] Load high")
    assert first.fingerprint == again.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"title": "[Recovered on {host:web-1,env:prod}] [P3] Load high"}, "resolved"),
        ({"alert_transition": "Recovered"}, "resolved"),
        ({"alertTransition": "Re-Triggered"}, "firing"),
        ({"alert_transition": "No Data"}, "firing"),
        ({"title": "Load high", "alert_type": "success"}, "resolved"),
        ({"title": "Load high", "alert_type": "error"}, "firing"),
    ],
)
def test_transition_title_or_alert_type_give_the_status(fields: dict[str, object], status: str) -> None:
    [alert] = read(**fields)
    assert alert.status == status


def test_a_recovery_pairs_with_its_trigger() -> None:
    [firing] = read()
    [resolved] = read(title="[Recovered on {host:web-1,env:prod}] [P3] Load high", id="79")
    assert (firing.name, firing.fingerprint) == (resolved.name, resolved.fingerprint)
    assert resolved.status == "resolved"


def test_the_alert_cycle_key_then_the_monitor_and_scope_identify_the_alert() -> None:
    [cycle_a] = read(alert_cycle_key="c1", alert_id="9")
    [cycle_b] = read(alert_cycle_key="c2", alert_id="9")
    [monitor_a] = read(alert_id="9", scope="host:a")
    [monitor_b] = read(alert_id="9", scope="host:b")
    [monitor_c] = read(alert_id="10", scope="host:a")
    assert len({cycle_a.fingerprint, cycle_b.fingerprint, monitor_a.fingerprint, monitor_b.fingerprint}) == 4
    assert monitor_a.fingerprint != monitor_c.fingerprint


def test_a_monitor_named_in_brackets_keeps_its_name() -> None:
    [alert] = read(title="[Triggered] [Memory Alert]")
    assert alert.name == "[Memory Alert]"


def test_tags_link_and_added_fields_become_labels_and_urls() -> None:
    [alert] = read(tags="env:prod,team:web,canary", link="https://app.datadoghq.com/event/1", alert_id=123)
    assert alert.labels.items() >= {"env": "prod", "team": "web", "tag:canary": "true", "alert_id": "123"}.items()
    assert alert.urls == {"source": "https://app.datadoghq.com/event/1"}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": ""}, "title is required"),
        ({"title": "[Triggered] [P1]"}, "title is required"),
        ({"org": "acme"}, "org must be an object"),
        ({"tags": 5}, "tags must be a list of strings"),
        ({"date": "yesterday"}, "invalid timestamp"),
        ({"date": "1" * 30}, "out of range"),
        ({"alert_id": {"id": 1}}, "alert_id must be a string"),
    ],
)
def test_invalid_notifications_give_precise_reasons(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        read(**fields)


def test_every_datadog_sample_and_only_those_are_read_as_datadog() -> None:
    assert_samples_taken_by("datadog", ["datadog"])


@FUZZ
@given(body=spoiled_sample("datadog"))
def test_a_spoiled_datadog_payload_reads_or_is_refused_with_a_reason(body: bytes) -> None:
    assert_reads_or_refuses(body, "datadog")


@pytest.mark.parametrize(("firing", "resolved"), [("extended-triggered.json", "extended-recovered.json")])
def test_a_resolved_sample_finds_the_run_its_firing_started(firing: str, resolved: str) -> None:
    assert_resolved_finds_its_firing_run("datadog", firing, resolved)
