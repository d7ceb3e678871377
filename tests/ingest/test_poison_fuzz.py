"""Property-based fuzzing of the ingest consumer's handling, in process: FastStream's real parser composed with
ours, then ``process`` and ``Emitter.emit`` with publishers that enforce the producer's size limit.

Whatever the record (value, key, headers, timestamp), no exception escapes and it ends as its triggers and/or
exactly one dead letter, every record written within the size limit. ``--hypothesis-show-statistics`` prints
the number of examples run.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from aiokafka import ConsumerRecord
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaParser
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schemas import DeadLetter, WorkflowTrigger
from services.ingest.emitter import Emitter
from services.ingest.pipeline import EVENT_SOURCE, process
from services.ingest.routing import RoutingTable
from services.shared.consuming import DeadLetters, keep_body_raw, parse_record
from services.shared.deadletter import consumed_record
from services.shared.retry import Backoff
from tests.shared.fakes import SizeLimitedPublisher

#: Examples per fuzz test: enough to reach every class below, few enough to keep the suite fast. Set
#: ALERTMESH_FUZZ_EXAMPLES for a longer search.
FUZZ_EXAMPLES = int(os.environ.get("ALERTMESH_FUZZ_EXAMPLES", "400"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULT_PARSER = AioKafkaParser(KafkaMessage, None)
ROUTING = RoutingTable.model_validate(
    {
        "routes": [
            {"name": "crit", "match": {"severity": "critical"}, "workflow": "triage", "inputs": {"team": "x"}},
            {"name": "regex", "match": {"name": {"regex": "Probe.*"}}, "workflow": "triage"},
            {"name": "label", "match": {"labels.team": ["sre", "infra"]}, "workflow": "enrich"},
            {"name": "edr", "match": {"source": "edr", "format": "cloudevents"}, "workflow": "triage"},
        ]
    }
)

EDGE_TIMES = st.sampled_from(
    [
        "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "0001-12-31T23:59:59-14:00", "0002-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00+01:00",
        "2023-02-06T13:08:45.828123456Z", "2023-02-06T13:08:45", "1970-01-01T00:00:00Z", "not a time", "",
    ]
) | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.none()  # fmt: skip
TEXT = st.text(max_size=20) | st.sampled_from(["", "\x00\n\u2028", "critical", "sre"])
#: Strings large enough to push a trigger or dead letter past the size limits the tests use.
HUGE_TEXT = st.sampled_from([("a", 20_000), ("ü", 9_000), ("\x01", 3_000)]).map(lambda huge: huge[0] * huge[1])
JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=10
)


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"n": value}
    return value


DEEP = st.sampled_from([1, 200, 250, 252, 253, 254, 255, 256, 300, 1000, 1023]).map(nested)
SCALAR_OR_WRONG = st.sampled_from(["firing", "resolved", "FIRING", "bogus"]) | JSON_LEAF | st.lists(TEXT, max_size=2)


STRINGS = st.dictionaries(TEXT, TEXT, max_size=3)


@st.composite
def alertmanager_alert(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly a valid alert (so routing and trigger building are reached), with at most one field gone wrong."""
    labels = draw(STRINGS) | {
        "alertname": draw(st.sampled_from(["ProbeFailure", "DiskFull"]) | TEXT | HUGE_TEXT),
        "severity": draw(st.sampled_from(["critical", "warning", "P1", ""])),
        "team": draw(st.sampled_from(["sre", "infra", "db"])),
    }
    alert: dict[str, Any] = {"labels": labels, "status": "firing", "annotations": draw(STRINGS)}
    for name in ("startsAt", "endsAt"):
        if draw(st.integers(0, 3)) == 0:
            alert[name] = draw(EDGE_TIMES)
    if draw(st.booleans()):
        alert["fingerprint"] = draw(TEXT)
    extra = draw(st.sampled_from(["none", "none", "deep", "blob", "json"]))
    if extra == "deep":
        alert["deep"] = draw(DEEP)
    elif extra == "blob":
        alert["blob"] = draw(HUGE_TEXT)
    elif extra == "json":
        alert["extra"] = draw(JSON)
    wrong = draw(st.sampled_from(["none", "none", "none", "label", "status", "field", "drop"]))
    if wrong == "label":
        labels[draw(st.sampled_from(["alertname", "severity", "x"]))] = draw(JSON_LEAF | st.lists(TEXT, max_size=2))
    elif wrong == "status":
        alert["status"] = draw(SCALAR_OR_WRONG)
    elif wrong == "field":
        alert[draw(st.sampled_from(["labels", "annotations", "fingerprint", "generatorURL"]))] = draw(JSON)
    elif wrong == "drop":
        del labels["alertname"]
    return alert


@st.composite
def cloudevent(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly a valid CloudEvent with alert data, with at most one attribute gone wrong."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(TEXT.filter(bool) | st.just("e-1")),
        "source": draw(st.sampled_from(["edr", "siem"]) | TEXT),
        "type": draw(st.sampled_from(["alert.raised"]) | TEXT),
        "data": draw(STRINGS) | {"title": draw(st.sampled_from(["ProbeFailure", "x"]) | TEXT),
                                 "severity": draw(st.sampled_from(["critical", "low"]))},
    }  # fmt: skip
    if draw(st.booleans()):
        event["time"] = draw(EDGE_TIMES)
    extra = draw(st.sampled_from(["none", "none", "deep", "blob", "json"]))
    if extra == "deep":
        event["data"]["deep"] = draw(DEEP)
    elif extra == "blob":
        event["data"]["blob"] = draw(HUGE_TEXT)
    elif extra == "json":
        event["data"]["extra"] = draw(JSON)
    if draw(st.integers(0, 3)) == 0:
        attribute = draw(st.sampled_from(["specversion", "id", "source", "type", "subject", "data", "time"]))
        event[attribute] = draw(JSON | EDGE_TIMES)
    return event


@st.composite
def document(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["alertmanager", "alertmanager", "cloudevent", "cloudevent", "json"]))
    if kind == "alertmanager":
        alerts = draw(st.lists(alertmanager_alert(), min_size=1, max_size=4) | JSON)
        return {"version": draw(st.sampled_from(["4", "4", "4", "1", 4])), "status": "firing", "alerts": alerts}
    if kind == "cloudevent":
        return draw(cloudevent())
    return draw(JSON)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # nested past what orjson writes: build the JSON text by hand
        depth = 0
        while isinstance(value, dict):
            value, depth = value.get("n", value.get("x")), depth + 1
        return b'{"n":' * depth + b'"bottom"' + b"}" * depth


@st.composite
def raw_value(draw: st.DrawFn) -> bytes | None:
    """Mostly JSON documents close to a real alert; sometimes no value, bytes, or JSON that is not a document."""
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        return _dumps(draw(document()))
    if kind == 6:
        return _dumps(draw(DEEP))
    if kind == 7:
        return draw(st.binary(max_size=64))
    if kind == 8:
        return draw(
            st.sampled_from([b"", b"   ", b"{not json", b"\xff\xfe\x00", b"[]", b"null", b"1e400", b'"\\ud800"'])
        )
    return None


#: Binary-mode CloudEvents: the attributes as ce_* headers, the body the alert data.
BINARY_MODE = [("ce_specversion", b"1.0"), ("ce_id", b"b-1"), ("ce_source", b"edr"), ("ce_type", b"alert")]
HEADER_VALUE = st.none() | st.binary(max_size=8) | st.sampled_from([b"\xff\xfe", "é".encode(), b"application/json"])
HEADER_NAME = st.sampled_from(["content-type", "alertmesh-source", "correlationid", "ce_id", "x"]) | st.text(max_size=5)
HEADERS = st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=6) | st.lists(
    st.tuples(HEADER_NAME, HEADER_VALUE), max_size=3
).map(lambda extra: BINARY_MODE + extra)
TIMESTAMPS = st.sampled_from([-1, 0, 253_402_300_799_999, 253_402_300_800_000, 2**63 - 1, -(2**63)]) | st.integers(
    -(2**63), 2**63 - 1
)


def kafka_record(
    value: bytes | None, key: bytes | None, headers: list[Any], timestamp: int
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic="alerts.raw", partition=0, offset=11, timestamp=timestamp, timestamp_type=0, key=key, value=value,
        checksum=None, serialized_key_size=len(key or b""), serialized_value_size=len(value or b""), headers=headers,
    )  # fmt: skip


@FUZZ
@given(
    value=raw_value(),
    key=st.none() | st.binary(max_size=16),
    headers=HEADERS,
    timestamp=TIMESTAMPS,
    limit=st.sampled_from([16_384, 65_536]),
)
async def test_every_raw_record_ends_as_triggers_or_one_dead_letter(
    value: bytes | None, key: bytes | None, headers: list[Any], timestamp: int, limit: int
) -> None:
    raw = kafka_record(value, key, headers, timestamp)
    message = await parse_record(raw, DEFAULT_PARSER.parse_message)
    message.set_decoder(keep_body_raw)
    triggers, dlq = SizeLimitedPublisher(limit), SizeLimitedPublisher(limit)
    backoff = Backoff(initial_s=0.001, max_s=0.001, budget_s=0.01)
    emitter = Emitter(triggers, DeadLetters(dlq, source=EVENT_SOURCE, max_bytes=limit, backoff=backoff), backoff)

    record = consumed_record(message)  # type: ignore[arg-type]
    await emitter.emit(record, process(record, ROUTING, limit))

    event(f"{len(triggers.sent)} trigger(s)" if triggers.sent else "no trigger")
    for body, _, _ in dlq.sent:
        letter = DeadLetter.from_json(body)
        event(f"dead letter {letter.data.stage}{' (cut)' if letter.data.truncated else ''}")
    assert triggers.refused == dlq.refused == 0, "a record over the limit reached the producer"
    assert len(dlq.sent) <= 1 and len(triggers.sent) + len(dlq.sent) >= 1
    for body, trigger_key, _ in triggers.sent:
        trigger = WorkflowTrigger.from_json(body)
        assert trigger_key == trigger.data.idempotency_key.encode()
    for body, letter_key, _ in dlq.sent:
        letter = DeadLetter.from_json(body)
        assert letter.data.stage in {"ingest.parse", "ingest.route", "ingest.trigger", "ingest.publish"}
        # The pipeline's safety net turns any exception into a dead letter; the fuzzer's job is to find inputs that
        # need it, i.e. checks the parsers are missing.
        assert "unexpected error" not in letter.data.reason, letter.data.reason
        assert letter.data.original_size == len(value or b"")
        assert (value or b"").startswith(letter.data.original)
        assert letter.data.truncated or letter.data.original == (value or b"")
        assert letter_key == letter.data.original_key
