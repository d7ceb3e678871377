import logging
from datetime import UTC, datetime

import orjson
import pytest
from prometheus_client import REGISTRY

from schemas import Alert, DeadLetter, WorkflowTrigger
from schemas.identity import alert_event_id
from services.ingest.pipeline import EVENT_SOURCE, Outcome, dead_letter_cause, process
from services.ingest.routing import Route, RoutingTable
from services.shared.deadletter import ConsumedRecord, dead_letter

LIMIT = 1_048_576
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ROUTING = RoutingTable.model_validate(
    {
        "routes": [
            {"name": "crit", "match": {"severity": "critical"}, "workflow": "triage", "inputs": {"team": "on-call"}},
            {"name": "probes", "match": {"labels.job": "http_checks"}, "workflow": "enrich"},
        ]
    }
)


def _record(value: bytes, headers: dict[str, str] | None = None) -> ConsumedRecord:
    return ConsumedRecord(
        value=value, headers=headers or {}, topic="alerts.raw", received_at=AT, partition=2, offset=7, key=b"k"
    )


def _process(record: ConsumedRecord) -> Outcome:
    return process(record, ROUTING, LIMIT)


def _letter(record: ConsumedRecord, outcome: Outcome) -> DeadLetter:
    """The record's one dead letter, as the emitter would write it."""
    [failure] = outcome.failures
    return dead_letter(record, source=EVENT_SOURCE, stage=failure.stage, reason=failure.reason, max_bytes=LIMIT)


def test_sample_becomes_one_trigger(alertmanager_bytes: bytes) -> None:
    outcome = _process(_record(alertmanager_bytes))
    assert outcome.failures == []
    [ready] = outcome.triggers
    trigger = ready.event
    assert ready.body == trigger.to_json() and ready.key == trigger.data.idempotency_key.encode()
    assert trigger.source == EVENT_SOURCE
    assert trigger.subject == "triage"
    assert trigger.time == AT
    assert trigger.correlationid == trigger.causationid == alert_event_id(trigger.data.alert)
    assert trigger.data.workflow == "triage"
    assert trigger.data.route == "crit"
    assert trigger.data.inputs == {"team": "on-call"}
    assert trigger.data.idempotency_key == "triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z"
    assert trigger.data.alert.name == "ProbeFailure"
    assert WorkflowTrigger.from_json(trigger.to_json()) == trigger


def test_a_route_can_ask_for_a_run_when_a_resolved_alerts_firing_run_is_over(alertmanager_bytes: bytes) -> None:
    # The orchestrator reads it only for a resolved alert whose firing run is not running (default: ignore).
    assert _process(_record(alertmanager_bytes)).triggers[0].event.data.on_resolved_finished == "ignore"
    routes = ROUTING.model_dump()
    routes["routes"][0]["on_resolved_finished"] = "start"
    [ready] = process(_record(alertmanager_bytes), RoutingTable.model_validate(routes), LIMIT).triggers
    assert ready.event.data.on_resolved_finished == "start"
    assert WorkflowTrigger.from_json(ready.body) == ready.event


def test_redelivery_yields_byte_identical_triggers(alertmanager_bytes: bytes) -> None:
    first = _process(_record(alertmanager_bytes)).triggers
    again = _process(_record(alertmanager_bytes)).triggers
    assert [t.body for t in first] == [t.body for t in again]


def test_garbage_is_a_parse_dead_letter_with_the_original() -> None:
    record = _record(b"\x00garbage", {"content-type": "text/plain"})
    outcome = _process(record)
    assert outcome.triggers == []
    letter = _letter(record, outcome)
    assert letter.data.stage == "parse"
    assert letter.data.reason.startswith("not JSON")
    assert letter.data.original == b"\x00garbage"
    assert (letter.data.original_topic, letter.data.original_partition, letter.data.original_offset) == (
        "alerts.raw", 2, 7,
    )  # fmt: skip
    assert letter.data.original_key == b"k"
    assert letter.data.original_headers == {"content-type": "text/plain"}
    assert DeadLetter.from_json(letter.to_json()) == letter


def test_unrouted_alert_is_a_route_dead_letter_naming_it(cloudevent_bytes: bytes) -> None:
    record = _record(cloudevent_bytes)
    outcome = _process(record)
    assert outcome.triggers == []
    letter = _letter(record, outcome)
    assert letter.data.stage == "route"
    assert "'Suspicious PowerShell download cradle'" in letter.data.reason
    assert letter.data.original == cloudevent_bytes


def test_group_routes_each_alert_on_its_own() -> None:
    body = orjson.dumps(
        {
            "version": "4",
            "status": "firing",
            "alerts": [
                {"status": "firing", "labels": {"alertname": "A", "severity": "critical"}, "fingerprint": "a"},
                {"status": "firing", "labels": {"alertname": "B", "job": "http_checks"}, "fingerprint": "b"},
                {"status": "firing", "labels": {"alertname": "C"}, "fingerprint": "c"},
            ],
        }
    )
    outcome = _process(_record(body))
    triggers = [ready.event for ready in outcome.triggers]
    assert [(t.data.alert.name, t.data.workflow) for t in triggers] == [("A", "triage"), ("B", "enrich")]
    assert triggers[0].correlationid != triggers[1].correlationid
    [failure] = outcome.failures
    assert failure.stage == "route" and "'C'" in failure.reason


class BrokenRouting(RoutingTable):
    """Routing with a bug: matching raises."""

    def match(self, alert: Alert) -> list[Route]:
        raise KeyError("labels.team")


def test_an_unexpected_error_is_this_records_dead_letter_and_logged_with_its_traceback(
    alertmanager_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BrokenRouting.model_validate({"routes": [{"name": "all", "workflow": "triage"}]})
    with caplog.at_level(logging.ERROR, logger="services.ingest.pipeline"):
        outcome = process(_record(alertmanager_bytes), broken, LIMIT)
    assert outcome.triggers == []
    [failure] = outcome.failures
    assert failure.stage == "route"
    assert failure.reason == "unexpected error routing alert 'ProbeFailure': KeyError: 'labels.team'"
    [logged] = caplog.records
    assert logged.levelno == logging.ERROR and logged.exc_info is not None


def test_a_payload_nested_past_what_serializers_write_is_a_trigger_dead_letter() -> None:
    body = orjson.dumps(
        {
            "version": "4",
            "alerts": [{"status": "firing", "labels": {"alertname": "Deep", "severity": "critical"}, "d": 0}],
        }
    )
    outcome = _process(_record(body.replace(b'"d":0', b'"d":' + b'{"n":' * 300 + b"1" + b"}" * 300)))
    [failure] = outcome.failures
    assert failure.stage == "validate" and "cannot be serialized" in failure.reason


def test_a_trigger_the_orchestrator_could_not_decode_is_a_trigger_dead_letter() -> None:
    # pydantic's JSON reader stops at fewer levels than orjson's (about 200 inside a trigger).
    body = orjson.dumps(
        {
            "version": "4",
            "alerts": [{"status": "firing", "labels": {"alertname": "Deep", "severity": "critical"}, "d": 0}],
        }
    )
    outcome = _process(_record(body.replace(b'"d":0', b'"d":' + b'{"n":' * 240 + b"1" + b"}" * 240)))
    [failure] = outcome.failures
    assert failure.stage == "validate" and "could not be decoded by the orchestrator" in failure.reason


def test_a_trigger_over_the_size_limit_is_a_trigger_dead_letter() -> None:
    body = orjson.dumps(
        {
            "version": "4",
            "alerts": [
                {"status": "firing", "labels": {"alertname": "Big", "severity": "critical"}, "blob": "x" * 20_000}
            ],
        }
    )
    outcome = process(_record(body), ROUTING, 16_384)
    [failure] = outcome.failures
    assert failure.stage == "validate" and "over the 16384-byte limit (KAFKA_MAX_MESSAGE_BYTES)" in failure.reason


def test_a_group_gives_a_failure_per_alert_naming_its_index_and_name() -> None:
    body = orjson.dumps(
        {
            "version": "4",
            "alerts": [
                {"status": "firing", "labels": {"alertname": "A", "severity": "critical"}, "fingerprint": "a"},
                {"status": "firing", "labels": {"alertname": "C"}, "fingerprint": "c"},
                {"status": "firing", "labels": {"alertname": "D"}, "fingerprint": "d"},
            ],
        }
    )
    outcome = _process(_record(body))
    assert [ready.event.data.alert.name for ready in outcome.triggers] == ["A"]
    assert outcome.triggers[0].index == 0
    assert [failure.stage for failure in outcome.failures] == ["route", "route"]
    assert [failure.alert.index for failure in outcome.failures if failure.alert] == [1, 2]
    assert [failure.alert.name for failure in outcome.failures if failure.alert] == ["C", "D"]
    assert outcome.failures[0].reason.startswith("alerts[1]: no route matches alert 'C'")
    assert outcome.failures[1].reason.startswith("alerts[2]: no route matches alert 'D'")
    element = outcome.failures[0].alert.element if outcome.failures[0].alert else None
    assert element is not None and orjson.loads(element)["fingerprint"] == "c"


def test_a_refused_element_keeps_its_own_json_for_its_letter() -> None:
    bad = {"status": "firing", "labels": {"severity": "warning", "rule": "Write below etc"}}
    good = {"status": "firing", "labels": {"alertname": "Falco", "severity": "critical"}}
    outcome = _process(_record(orjson.dumps({"version": "4", "alerts": [bad, good]})))
    [failure] = outcome.failures
    assert failure.alert is not None and failure.alert.index == 0 and failure.alert.name is None
    assert failure.alert.element is not None and orjson.loads(failure.alert.element) == bad


def test_the_only_alert_of_a_record_fails_as_the_record() -> None:
    body = orjson.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "C"}}]})
    [failure] = _process(_record(body)).failures
    assert failure.alert is None and failure.reason.startswith("no route matches alert 'C'")


def test_several_failures_still_read_as_one_cause_for_noise_controls_flush() -> None:
    body = orjson.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": n}} for n in "CD"]})
    cause = dead_letter_cause(_process(_record(body)).failures)
    assert cause.stage == "route" and cause.reason.startswith("2 alerts did not become triggers: alerts[0]: ")


def test_alerts_the_sender_cut_from_a_group_are_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    counted = (
        REGISTRY.get_sample_value("alertmesh_truncated_alerts_total", {"source": "grafana", "format": "grafana.v1"})
        or 0.0
    )
    alert = {"status": "firing", "labels": {"alertname": "CPU", "severity": "critical"}}
    body = orjson.dumps({"version": "1", "groupKey": "g1", "truncatedAlerts": 7, "alerts": [alert, alert]})
    with caplog.at_level(logging.WARNING, logger="services.ingest.pipeline"):
        outcome = _process(_record(body))
    assert len(outcome.triggers) == 2
    for ready in outcome.triggers:
        group = ready.event.data.alert.group
        assert group is not None and group.truncated_alerts == 7
        # What a workflow reads as TRIGGER.alert.group.truncated_alerts.
        assert ready.event.data.model_dump(mode="json")["alert"]["group"]["truncated_alerts"] == 7
    after = REGISTRY.get_sample_value("alertmesh_truncated_alerts_total", {"source": "grafana", "format": "grafana.v1"})
    assert after == counted + 7
    assert any("left 7 alerts of group 'g1' out" in message for message in caplog.messages), caplog.messages


HOSTILE = ["\x1b]52;c;cm0gLXJm\x07", "x\nERROR forged log line", "\r\x1b[2K", "\u202eevil", "\x9b1m", "a\u2028b"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_reasons_quoting_the_payload_are_escaped_as_they_are_built(hostile: str) -> None:
    """A label key, an alert name or a field a reason quotes never reaches a dead letter, a log line or a span
    raw: terminal escapes and newlines are escaped in the reason itself."""
    unrouted = {"status": "firing", "labels": {"alertname": f"Disk{hostile}"}, "fingerprint": f"f{hostile}"}
    bad_label = {"status": "firing", "labels": {"alertname": "X", hostile: 1}}
    for alert in (unrouted, bad_label):
        outcome = _process(_record(orjson.dumps({"version": "4", "alerts": [alert]})))
        [failure] = outcome.failures
        assert not any(char in failure.reason for char in "\x1b\n\r\x07\u202e\x9b\u2028"), failure.reason
        assert "\\" in failure.reason  # escaped, not removed
        assert _letter(_record(b"{}"), outcome).data.reason == failure.reason


@pytest.mark.parametrize("form", ["alertmanager", "grafana"])
def test_one_bad_alert_of_a_group_does_not_sink_its_valid_neighbour(form: str) -> None:
    """A Falcosidekick-style group: the first alert has no alertname, the second is a valid critical alert."""
    bad = {"status": "firing", "labels": {"severity": "warning"}, "annotations": {}, "startsAt": "2026-01-01T00:00:00Z"}
    good = {**bad, "labels": {"alertname": "Falco", "severity": "critical", "rule": "Terminal shell"}}
    group = {"version": "4" if form == "alertmanager" else "1", "status": "firing", "alerts": [bad, good]}
    outcome = _process(_record(orjson.dumps(group)))
    assert [trigger.event.data.alert.name for trigger in outcome.triggers] == ["Falco"]
    [failure] = outcome.failures
    assert failure.stage == "parse"
    assert "alerts[0]" in failure.reason and "alertname" in failure.reason
