from datetime import UTC, datetime

import orjson
import pytest

from services.ingest.parsers import ParseError, parse_alerts

BINARY_HEADERS = {
    "ce_specversion": "1.0",
    "ce_id": "evt-1",
    "ce_source": "/edr/sensor/host-42",
    "ce_type": "com.example.edr.detection",
    "ce_time": "2026-11-20T08:15:02Z",
    "ce_subject": "host-42",
    "content-type": "application/json",
}


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
    assert binary.fingerprint == structured.fingerprint  # same source, type, subject and name
    assert binary.starts_at == structured.starts_at
    assert binary.payload["id"] == "evt-1"
    assert binary.payload["data"]["host"] == "host-42"


def _event(**data: object) -> bytes:
    return orjson.dumps({"specversion": "1.0", "id": "1", "source": "s", "type": "t.x", "data": data})


def test_name_falls_back_to_alertname_then_type() -> None:
    assert parse_alerts(_event(alertname="Disk"), {})[0].name == "Disk"
    assert parse_alerts(_event(), {})[0].name == "t.x"


def test_status_fingerprint_and_summary_come_from_data() -> None:
    [alert] = parse_alerts(_event(status="resolved", fingerprint="fp-1", summary="s1", description="d1"), {})
    assert (alert.status, alert.fingerprint, alert.summary, alert.description) == ("resolved", "fp-1", "s1", "d1")


def test_source_header_overrides_ce_source(cloudevent_bytes: bytes) -> None:
    assert parse_alerts(cloudevent_bytes, {"alertmesh-source": "edr"})[0].source == "edr"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"specversion": "0.3", "id": "1", "source": "s", "type": "t"}, "unsupported specversion '0.3'"),
        ({"specversion": "1.0", "source": "s", "type": "t"}, "required attribute 'id'"),
        ({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": [1]}, "data must be a JSON object"),
        ({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": "soon"}, "invalid timestamp"),
        ({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data_base64": "AA=="}, "data_base64"),
    ],
)
def test_invalid_events_give_precise_reasons(event: dict[str, object], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(orjson.dumps(event), {})


def test_binary_mode_without_type_header_is_rejected() -> None:
    headers = {k: v for k, v in BINARY_HEADERS.items() if k != "ce_type"}
    with pytest.raises(ParseError, match="required attribute 'type'"):
        parse_alerts(b'{"title": "x"}', headers)
