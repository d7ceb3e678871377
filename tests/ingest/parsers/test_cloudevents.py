import base64
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas.alert import Alert
from schemas.identity import idempotency_key
from services.ingest.parsers import ParseError, RefusedAlert, parse_alerts, read_alerts
from services.webhook.headers import raw_record_headers

BINARY_HEADERS = {
    "ce_specversion": "1.0",
    "ce_id": "evt-1",
    "ce_source": "/edr/sensor/host-42",
    "ce_type": "com.example.edr.detection",
    "ce_time": "2026-11-20T08:15:02Z",
    "ce_subject": "host-42",
    "content-type": "application/json",
}
STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCH = {"content-type": "application/cloudevents-batch+json"}


def test_structured_sample(cloudevent_bytes: bytes) -> None:
    [alert] = parse_alerts(cloudevent_bytes, {})
    assert alert.source == "/edr/sensor/host-42"
    assert alert.format == "cloudevents"
    assert alert.name == "Suspicious PowerShell download cradle"
    assert alert.severity == "high"
    assert alert.status == "firing"
    assert alert.starts_at == datetime(2026, 11, 20, 8, 15, 2, tzinfo=UTC)
    assert alert.labels["host"] == "host-42"
    assert alert.labels["subject"] == "host-42"
    assert alert.labels["user"] == "alice"
    assert "process" not in alert.labels  # only string-valued fields become labels
    assert alert.payload == orjson.loads(cloudevent_bytes)
    assert len(alert.fingerprint) == 16


def test_binary_mode_reads_attributes_from_headers(cloudevent_bytes: bytes) -> None:
    data = orjson.dumps(orjson.loads(cloudevent_bytes)["data"])
    [binary] = parse_alerts(data, BINARY_HEADERS)
    [structured] = parse_alerts(cloudevent_bytes, {})
    assert binary.name == structured.name
    assert binary.fingerprint == structured.fingerprint  # same source, type, subject and data
    assert binary.starts_at == structured.starts_at
    assert binary.payload["id"] == "evt-1"
    assert binary.payload["data"]["host"] == "host-42"


def _event(data: Any = None, **attributes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"specversion": "1.0", "id": "1", "source": "s", "type": "t.x"}
    if data is not None:
        event["data"] = data
    return event | attributes


def _one(event: dict[str, Any], headers: dict[str, str] | None = None) -> Alert:
    [alert] = parse_alerts(orjson.dumps(event), headers or {})
    return alert


def test_name_falls_back_to_alertname_rule_then_type() -> None:
    assert _one(_event({"alertname": "Disk"})).name == "Disk"
    assert _one(_event({"rule": "Write below etc"})).name == "Write below etc"
    assert _one(_event({})).name == "t.x"


def test_status_fingerprint_and_summary_come_from_data() -> None:
    alert = _one(_event({"status": "resolved", "fingerprint": "fp-1", "summary": "s1", "description": "d1"}))
    assert (alert.status, alert.fingerprint, alert.summary, alert.description) == ("resolved", "fp-1", "s1", "d1")


@pytest.mark.parametrize(("word", "status"), [("Resolved", "resolved"), ("open", "firing"), ("closed", "resolved")])
def test_status_words_senders_use_are_read(word: str, status: str) -> None:
    assert _one(_event({"status": word})).status == status


def test_source_header_overrides_ce_source(cloudevent_bytes: bytes) -> None:
    assert parse_alerts(cloudevent_bytes, {"alertmesh-source": "edr"})[0].source == "edr"


# Identity (defect 3): what distinguishes events distinguishes alerts; repeats and resolves keep the fingerprint.


def test_same_title_for_different_users_are_two_alerts() -> None:
    alice = _one(_event({"title": "Impossible travel", "severity": "high", "user": "alice"}, id="evt-1"))
    bob = _one(_event({"title": "Impossible travel", "severity": "high", "user": "bob"}, id="evt-2"))
    assert alice.fingerprint != bob.fingerprint


def test_different_nested_data_are_two_alerts(cloudevent_bytes: bytes) -> None:
    event = orjson.loads(cloudevent_bytes)
    other = orjson.loads(cloudevent_bytes)
    other["data"]["process"]["cmdline"] = "powershell -enc ZQBjAGgAbwA="
    assert _one(event).fingerprint != _one(other).fingerprint


def test_a_repeat_and_its_resolve_keep_the_fingerprint() -> None:
    data = {"title": "Impossible travel", "user": "alice", "detected_at": "2026-11-28T08:15:02Z", "count": 1}
    first = _one(_event(data, id="evt-1", time="2026-11-28T08:15:02Z", traceparent="00-aa-01"))
    again = _one(
        _event(
            data | {"detected_at": "2026-11-28T08:20:02Z", "count": 2, "summary": "seen twice"},
            id="evt-2",
            time="2026-11-28T08:20:02Z",
            traceparent="00-bb-01",
        )
    )
    resolved = _one(_event(data | {"status": "resolved"}, id="evt-3"))
    assert first.fingerprint == again.fingerprint == resolved.fingerprint
    assert (first.event_id, again.event_id) == ("evt-1", "evt-2")  # two events of one alert: dedup merges them


def test_a_resolved_event_finds_the_run_its_firing_event_started_when_the_data_gives_the_start() -> None:
    data = {"alertname": "DiskFull", "instance": "db-1", "startsAt": "2026-11-28T08:00:00Z"}
    firing = _one(_event(data, id="evt-1", time="2026-11-28T08:00:05Z"))
    resolved = _one(_event(data | {"status": "resolved"}, id="evt-2", time="2026-11-28T08:30:00Z"))
    assert firing.starts_at == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    # What the orchestrator computes for a resolved alert's trigger (lifecycle.firing_run_id).
    assert idempotency_key(resolved.model_copy(update={"status": "firing"}), "wf") == idempotency_key(firing, "wf")
    # A new firing (a new start) is a new run.
    again = _one(_event(data | {"startsAt": "2026-11-28T09:00:00Z"}, id="evt-3"))
    assert idempotency_key(again, "wf") != idempotency_key(firing, "wf")


def test_without_a_start_in_data_the_event_id_identifies_the_notification() -> None:
    first, other = _one(_event({"alertname": "DiskFull"}, id="evt-1")), _one(_event({"alertname": "DiskFull"}, id="e2"))
    assert (first.event_source, first.event_id) == ("s", "evt-1")
    assert idempotency_key(first, "wf") != idempotency_key(other, "wf")
    assert idempotency_key(first, "wf") == idempotency_key(_one(_event({"alertname": "DiskFull"}, id="evt-1")), "wf")


def test_events_without_data_are_told_apart_by_subject_else_by_id() -> None:
    assert _one(_event(id="a")).fingerprint != _one(_event(id="b")).fingerprint
    assert _one(_event(id="a", subject="db-1")).fingerprint == _one(_event(id="b", subject="db-1")).fingerprint
    assert _one(_event(id="a", subject="db-1")).fingerprint != _one(_event(id="a", subject="db-2")).fingerprint


def test_extensions_name_rate_and_label_the_alert() -> None:
    alert = _one(_event(rule="Port scan", priority="Warning", region="eu-1", sequence="7"))
    assert (alert.name, alert.severity, alert.severity_original) == ("Port scan", "medium", "Warning")
    assert alert.labels["region"] == "eu-1" and "sequence" not in alert.labels
    assert _one(_event(rule="Port scan", region="us-1")).fingerprint != alert.fingerprint


FALCO = {
    "uuid": "6cb1e8e2-1f4f-4d3b-9c7b-3f2b3c2a5d10",
    "output": "10:15:03.456789123: Notice A shell was spawned in a container (user=root container_id=4a1b2c3d4e5f)",
    "priority": "Notice",
    "rule": "Terminal shell in container",
    "time": "2026-03-02T10:15:03.456789123Z",
    "source": "syscall",
    "hostname": "worker-3",
    "tags": ["container", "shell", "mitre_execution"],
    "output_fields": {
        "container.id": "4a1b2c3d4e5f",
        "evt.time": 1772446503456789123,
        "proc.cmdline": "bash",
        "proc.pid": 4242,
        "user.name": "root",
        "k8s.pod.name": None,
    },
}
FALCOSIDEKICK_HEADERS = {
    "ce_specversion": "1.0",
    "ce_id": "0b8a2c47-6c1e-4a5e-8f0e-9b1c2d3e4f50",
    "ce_source": "https://falco.org",
    "ce_type": "falco.rule.output.v1",
    "ce_time": "2026-03-02T10:15:03.456789123Z",
    "ce_priority": "Notice",
    "ce_rule": "Terminal shell in container",
    "ce_eventsource": "syscall",
    "ce_hostname": "worker-3",
    "content-type": "application/json",
}


def test_a_falco_detection_from_falcosidekick_is_named_and_rated_by_its_rule() -> None:
    [alert] = parse_alerts(orjson.dumps(FALCO), FALCOSIDEKICK_HEADERS)
    assert (alert.name, alert.severity, alert.severity_original) == ("Terminal shell in container", "low", "Notice")
    assert alert.summary == FALCO["output"]
    assert alert.labels["container.id"] == "4a1b2c3d4e5f" and alert.labels["proc.pid"] == "4242"
    assert alert.labels["hostname"] == "worker-3" and alert.labels["falco_source"] == "syscall"
    assert "k8s.pod.name" not in alert.labels
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 3, 456789, UTC)


def _falco(**changes: Any) -> Alert:
    fields = FALCO["output_fields"] | changes  # type: ignore[operator]
    headers = FALCOSIDEKICK_HEADERS | {"ce_id": f"id-{sorted(changes.items())}"}
    return parse_alerts(orjson.dumps(FALCO | {"output_fields": fields}), headers)[0]


def test_falco_repeats_are_one_alert_and_other_detections_are_not() -> None:
    first = _falco()
    assert _falco(**{"evt.time": 1772446999000000000}).fingerprint == first.fingerprint
    assert _falco(**{"container.id": "9f8e7d6c5b4a"}).fingerprint != first.fingerprint
    assert _falco(**{"proc.pid": 4343}).fingerprint != first.fingerprint
    assert _falco(**{"user.name": "www-data"}).fingerprint != first.fingerprint
    other_rule = parse_alerts(orjson.dumps(FALCO | {"rule": "Read sensitive file untrusted"}), FALCOSIDEKICK_HEADERS)
    assert other_rule[0].fingerprint != first.fingerprint


def test_priority_extension_rates_a_falco_event_without_priority_in_data() -> None:
    data = {key: value for key, value in FALCO.items() if key != "priority"}
    [alert] = parse_alerts(orjson.dumps(data), FALCOSIDEKICK_HEADERS | {"ce_priority": "Critical"})
    assert alert.severity == "critical"


# Content mode (defect 4): the content type decides, not the presence of ce_* headers.


def test_structured_content_type_wins_over_ce_headers(cloudevent_bytes: bytes) -> None:
    [alert] = parse_alerts(cloudevent_bytes, BINARY_HEADERS | STRUCTURED)
    assert (alert.name, alert.severity) == ("Suspicious PowerShell download cradle", "high")
    assert alert.event_id == "b7c1e7a2-4d0f-4a55-9d5e-2f3f8c0b9e11"


def test_a_json_body_restating_the_headers_event_is_that_event(cloudevent_bytes: bytes) -> None:
    headers = BINARY_HEADERS | {"ce_id": orjson.loads(cloudevent_bytes)["id"]}
    [alert] = parse_alerts(cloudevent_bytes, headers)
    assert (alert.name, alert.severity) == ("Suspicious PowerShell download cradle", "high")


def test_through_the_webhook_a_structured_event_with_ce_headers_stays_structured(cloudevent_bytes: bytes) -> None:
    request = {"ce-specversion": "1.0", "ce-id": "other", "ce-source": "/x", "ce-type": "t"}
    headers = raw_record_headers("edr", "application/cloudevents+json; charset=utf-8", request)
    [alert] = parse_alerts(cloudevent_bytes, headers)
    assert (alert.source, alert.name, alert.severity) == ("edr", "Suspicious PowerShell download cradle", "high")


def test_plain_json_with_ce_headers_is_binary_mode() -> None:
    [alert] = parse_alerts(b'{"title": "Suspicious login", "severity": "high"}', BINARY_HEADERS)
    assert (alert.name, alert.event_id) == ("Suspicious login", "evt-1")
    assert alert.payload["data"] == {"title": "Suspicious login", "severity": "high"}


# Batches, data_base64 and events without data (defect 9).


def test_a_batch_is_one_alert_per_event_and_a_bad_event_is_refused_alone() -> None:
    events = [
        _event({"title": "A", "severity": "high"}, id="1"),
        {"specversion": "1.0", "id": "2", "type": "t.x"},
        "not an event",
        _event({"title": "B"}, id="3"),
    ]
    entries = read_alerts(orjson.dumps(events), BATCH)
    assert [entry.name for entry in entries if isinstance(entry, Alert)] == ["A", "B"]
    refused = [entry for entry in entries if isinstance(entry, RefusedAlert)]
    assert [entry.index for entry in refused] == [1, 2]
    assert "batch[1]: required attribute 'source'" in refused[0].reason
    assert "must be a JSON object" in refused[1].reason


def test_an_array_of_events_is_a_batch_without_its_content_type() -> None:
    alerts = parse_alerts(orjson.dumps([_event({"title": "A"}, id="1"), _event({"title": "B"}, id="2")]), {})
    assert [alert.name for alert in alerts] == ["A", "B"]
    assert alerts[0].fingerprint != alerts[1].fingerprint


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"[]", BATCH, "the batch holds no events"),
        (orjson.dumps(_event()), BATCH, "a batch must be a JSON array"),
        (orjson.dumps([_event()]), STRUCTURED, "a structured event must be a JSON object"),
        (b'{"title": "data, not an event"}', STRUCTURED, "no specversion"),
    ],
)
def test_a_body_that_is_not_its_content_type_is_refused(body: bytes, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(body, headers)


def test_an_event_without_data_is_an_alert() -> None:
    alert = _one(_event(subject="db-1", severity="critical"))
    assert (alert.name, alert.severity, alert.labels["subject"]) == ("t.x", "critical", "db-1")


def test_data_base64_is_decoded() -> None:
    encoded = base64.b64encode(orjson.dumps({"title": "Disk full", "severity": "warning"})).decode()
    alert = _one(_event(data_base64=encoded, datacontenttype="application/json"))
    assert (alert.name, alert.severity, alert.payload["data_base64"]) == ("Disk full", "medium", encoded)
    text = _one(_event(data_base64=base64.b64encode(b"disk full on db-1").decode(), datacontenttype="text/plain"))
    assert (text.name, text.summary) == ("t.x", "disk full on db-1")
    opaque = base64.b64encode(b"\x00\x01").decode()
    assert _one(_event(data_base64=opaque, datacontenttype="application/octet-stream")).name == "t.x"
    # Bytes alertmesh does not read are never decoded: the spec's own example carries a placeholder there.
    thrift = _event(data_base64="... base64 encoded string ...", datacontenttype="application/vnd.apache.thrift.binary")
    assert _one(thrift).payload["data_base64"] == "... base64 encoded string ..."


def test_non_object_data_is_kept_and_summarized() -> None:
    assert _one(_event("disk full on db-1", datacontenttype="text/plain")).summary == "disk full on db-1"
    assert _one(_event([1, 2])).name == "t.x"
    assert _one(_event('{"title": "Encoded twice"}', datacontenttype="application/json")).name == "Encoded twice"


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("2026-11-20t08:15:02z", datetime(2026, 11, 20, 8, 15, 2, tzinfo=UTC)),
        ("2026-11-20T09:15:02.123456789+01:00", datetime(2026, 11, 20, 8, 15, 2, 123456, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_rfc3339_times_are_read(time: str, expected: datetime) -> None:
    assert _one(_event(time=time)).starts_at == expected


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"specversion": "0.3", "id": "1", "source": "s", "type": "t"}, "unsupported specversion '0.3'"),
        ({"specversion": "1.0", "source": "s", "type": "t"}, "required attribute 'id'"),
        ({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": "soon"}, "invalid timestamp"),
        ({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": "2026-11-20"}, "invalid timestamp"),
        ({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": 1764000000}, "not a number"),
        ({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data_base64": "A!=="}, "not valid base64"),
        (_event(data_base64="A!==", datacontenttype="text/plain"), "not valid base64"),
        (_event({"a": 1}, data_base64="AA=="), "data or data_base64, not both"),
        (_event(data_base64="AA==", datacontenttype="application/json"), "not the JSON its datacontenttype"),
        (_event({"status": "pending"}), "status must be firing or resolved"),
        (_event({"status": 1}), "status must be firing or resolved"),
    ],
)
def test_invalid_events_give_precise_reasons(event: dict[str, object], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(orjson.dumps(event), {})


def test_binary_mode_without_type_header_is_rejected() -> None:
    headers = {k: v for k, v in BINARY_HEADERS.items() if k != "ce_type"}
    with pytest.raises(ParseError, match="required attribute 'type'"):
        parse_alerts(b'{"title": "x"}', headers)
