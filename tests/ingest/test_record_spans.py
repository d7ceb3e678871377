"""Ingest's span per raw record says what the record became: triggers, a dead letter, or what noise control kept
back (so ``alertmesh trace`` explains an alert that started no run of its own)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import orjson
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from alertmesh.trace_lookup import SpanRecord, Trace
from alertmesh.trace_view import render
from services.ingest import record_spans
from services.ingest.pipeline import Outcome, process
from services.ingest.routing import load_routing
from services.shared import tracing
from services.shared.deadletter import ConsumedRecord
from services.shared.span_store import span_line

REPO = Path(__file__).resolve().parents[2]


def outcome_of_the_sample() -> Outcome:
    record = ConsumedRecord(
        value=(REPO / "samples" / "alertmanager-v4-firing.json").read_bytes(),
        headers={"content-type": "application/json"},
        topic="alerts.raw",
        received_at=datetime.now(UTC),
        partition=0,
        offset=5,
    )
    outcome = process(record, load_routing(REPO / "routing.yaml"), 1_048_576)
    assert outcome.triggers
    return outcome


def finished(outcome: Outcome) -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("test").start_span("process alerts.raw")
    record_spans.finish(span, outcome)
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
