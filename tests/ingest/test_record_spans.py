"""Ingest's span per record carries the record's Kafka attributes and what it became, however it ends: triggers, a
dead letter, or what noise control kept back (so ``alertmesh trace`` explains an alert that started no run of its
own)."""

import dataclasses
from datetime import UTC, datetime

import orjson
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from alertmesh.samples import sample
from alertmesh.trace import SpanRecord, Trace, render
from services.ingest import record_spans
from services.ingest.defaults import ROUTING_FILE
from services.ingest.pipeline import Outcome, process
from services.ingest.routing import RoutingTable, load_routing
from services.shared import tracing
from services.shared.deadletter import ConsumedRecord
from services.shared.span_store import span_line

ROUTING = RoutingTable.model_validate(
    {"routes": [{"name": "crit", "match": {"severity": "critical"}, "workflow": "triage"}]}
)
KAFKA = {
    "messaging.system": "kafka",
    "messaging.destination.name": "alerts.raw",
    "messaging.destination.partition.id": "2",
    "messaging.kafka.offset": 7,
    "messaging.kafka.message.key": "k",
}


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    # A provider of the test's own: the process's global one may be set only once.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    return exporter


def _record(value: bytes) -> ConsumedRecord:
    return ConsumedRecord(
        value=value,
        headers={"alertmesh-source": "prometheus"},
        topic="alerts.raw",
        received_at=datetime.now(UTC),
        partition=2,
        offset=7,
        key=b"k",
    )


def _handled(record: ConsumedRecord, exported: InMemorySpanExporter) -> tuple[ReadableSpan, dict[str, str]]:
    span = record_spans.start(record)
    headers = tracing.span_headers(span)
    outcome = process(record, ROUTING, 1_048_576, trace=headers)
    record_spans.finish_all([span], [(record, outcome)])
    [finished] = exported.get_finished_spans()
    return finished, dict(outcome.triggers[0].headers) if outcome.triggers else {}


def test_a_routed_record_names_its_alert_and_trigger(alertmanager_bytes: bytes, exported: InMemorySpanExporter) -> None:
    span, headers = _handled(_record(alertmanager_bytes), exported)
    attributes = dict(span.attributes or {})
    assert span.name == "process alerts.raw" and span.kind is SpanKind.CONSUMER
    assert {name: attributes[name] for name in KAFKA} == KAFKA
    assert attributes[tracing.EVENT_ID] == attributes[tracing.CORRELATION_ID] == headers["correlationid"]
    assert attributes[tracing.IDEMPOTENCY_KEY] and attributes[tracing.WORKFLOW] == "triage"
    assert attributes[tracing.ROUTE] == "crit" and attributes["alertmesh.triggers"] == 1
    assert span.context is not None
    ids = f"{span.context.trace_id:032x}-{span.context.span_id:016x}"
    assert headers[tracing.TRACEPARENT] == f"00-{ids}-{span.context.trace_flags:02x}"


def test_a_dead_lettered_record_says_why(exported: InMemorySpanExporter) -> None:
    span, _ = _handled(_record(b"not json"), exported)
    attributes = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert {name: attributes[name] for name in KAFKA} == KAFKA
    assert attributes[tracing.DEAD_LETTER_STAGE] == "parse" and attributes[tracing.DEAD_LETTER_REASON]


def test_an_abandoned_batch_still_names_its_records(exported: InMemorySpanExporter) -> None:
    record = _record(b"{}")
    record_spans.abandon([record_spans.start(record)], [record], ConnectionError("broker down"))
    [span] = exported.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert "ConnectionError: broker down" in (span.status.description or "")
    assert {name: (span.attributes or {})[name] for name in KAFKA} == KAFKA


def sample_record() -> ConsumedRecord:
    return ConsumedRecord(
        value=sample("alertmanager-v4-firing.json").read_bytes(),
        headers={"content-type": "application/json"},
        topic="alerts.raw",
        received_at=datetime.now(UTC),
        partition=0,
        offset=5,
    )


def outcome_of_the_sample() -> Outcome:
    outcome = process(sample_record(), load_routing(ROUTING_FILE), 1_048_576)
    assert outcome.triggers
    return outcome


def finished(outcome: Outcome) -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("test").start_span("process alerts.raw")
    record_spans.finish(span, sample_record(), outcome)
    [done] = exporter.get_finished_spans()
    return done


def test_a_record_that_became_triggers_names_the_first_ones_ids() -> None:
    outcome = outcome_of_the_sample()
    attrs = finished(outcome).attributes or {}
    data = outcome.triggers[0].event.data
    assert attrs[tracing.IDEMPOTENCY_KEY] == data.idempotency_key
    assert attrs[tracing.CORRELATION_ID] == outcome.triggers[0].event.correlationid
    assert record_spans.HELD not in attrs


def test_a_record_noise_control_kept_back_says_why_and_claims_no_run() -> None:
    outcome = outcome_of_the_sample()
    ready = outcome.triggers[0]
    held = dataclasses.replace(outcome, triggers=[], held=[(ready, "held in a group, flushed as triage:group:x")])
    span = finished(held)
    attrs = span.attributes or {}
    # Found by the alert's ids, but not by the key of a run it did not start (a repeat's key is the first alert's).
    assert attrs[tracing.EVENT_ID] == ready.event.correlationid
    assert tracing.IDEMPOTENCY_KEY not in attrs
    assert attrs[record_spans.HELD] == "held in a group, flushed as triage:group:x"
    shown = render(Trace(format(span.context.trace_id, "032x"), [SpanRecord.from_json(orjson.loads(span_line(span)))]))
    assert "kept back by noise control at +0.0 ms: held in a group, flushed as triage:group:x" in shown
