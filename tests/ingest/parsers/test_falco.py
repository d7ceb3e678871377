from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.parsers import ParseError, parse_alerts
from services.ingest.parsers.registry import PARSERS
from tests.ingest.parsers.test_cloudevents import FALCO, FALCOSIDEKICK_HEADERS
from tests.shared.strategies import DEEP, FUZZ, JSON, TEXT, dumps


def _read(payload: dict[str, Any], **headers: str) -> Any:
    [alert] = parse_alerts(orjson.dumps(payload), headers)
    return alert


def test_falcosidekick_webhook_body_is_one_alert_named_after_its_rule() -> None:
    alert = _read(FALCO)
    assert (alert.format, alert.source, alert.status) == ("falco", "falco", "firing")
    assert (alert.name, alert.severity, alert.severity_original) == ("Terminal shell in container", "low", "Notice")
    assert alert.summary == FALCO["output"]
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 3, 456789, UTC)
    assert alert.labels["container.id"] == "4a1b2c3d4e5f" and alert.labels["evt.time"] == "1772446503456789123"
    assert alert.labels["tags"] == "container,mitre_execution,shell"
    assert (alert.event_source, alert.event_id) == ("falcosidekick", FALCO["uuid"])
    assert alert.payload == FALCO


def test_the_same_detection_reads_the_same_natively_and_as_a_cloudevent() -> None:
    [wrapped] = parse_alerts(orjson.dumps(FALCO), FALCOSIDEKICK_HEADERS)
    assert _read(FALCO).fingerprint == wrapped.fingerprint


def test_falcos_own_json_output_without_uuid_is_read() -> None:
    plain = {key: value for key, value in FALCO.items() if key not in ("uuid", "tags", "hostname")}
    alert = _read(plain | {"priority": "Emergency"}, **{"alertmesh-source": "falco-eu"})
    assert (alert.source, alert.severity, alert.event_id) == ("falco-eu", "critical", None)


def test_repeats_share_a_fingerprint_and_other_detections_do_not() -> None:
    first = _read(FALCO)
    repeat = FALCO | {
        "uuid": "another",
        "time": "2026-03-02T10:16:00Z",
        "output": "10:16:00.000000000: Notice A shell was spawned in a container (user=root container_id=4a1b2c3d4e5f)",
        "output_fields": FALCO["output_fields"] | {"evt.time": 1772446560000000000},  # type: ignore[operator]
    }
    assert _read(repeat).fingerprint == first.fingerprint
    elsewhere = FALCO | {"hostname": "worker-4"}
    other_file = FALCO | {"output_fields": FALCO["output_fields"] | {"fd.name": "/etc/shadow"}}  # type: ignore[operator]
    assert len({first.fingerprint, _read(elsewhere).fingerprint, _read(other_file).fingerprint}) == 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"rule": " "}, "falco.rule is empty"),
        ({"output_fields": ["container.id"]}, "falco.output_fields must be an object"),
        ({"priority": 3}, "falco.priority must be a string"),
        ({"time": "yesterday"}, "falco.time: invalid timestamp"),
    ],
)
def test_a_broken_detection_says_which_field(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        _read(FALCO | change)


def test_falco_is_registered_after_the_webhook_formats() -> None:
    formats = [parser.format for parser in PARSERS]
    assert formats.index("falco") > max(
        formats.index(name) for name in ("cloudevents", "alertmanager.v4", "grafana.v1")
    )


@FUZZ
@given(fields=st.dictionaries(TEXT, JSON | DEEP, max_size=4), spoil=st.sampled_from(list(FALCO)), wrong=JSON | DEEP)
def test_any_detection_is_an_alert_or_a_parse_error(fields: dict[str, Any], spoil: str, wrong: Any) -> None:
    for payload in (FALCO | {"output_fields": fields}, FALCO | {spoil: wrong}):
        body = dumps(payload)
        for headers in ({}, FALCOSIDEKICK_HEADERS):
            try:
                first = parse_alerts(body, headers)
            except ParseError:
                continue
            assert [alert.fingerprint for alert in parse_alerts(body, headers)] == [a.fingerprint for a in first]
