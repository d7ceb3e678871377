"""Ingest's span per raw record: child of the record's ``traceparent`` (the webhook's request span, or any
producer's), a new trace when it has none. Its context goes on every trigger and on the dead letter the record
causes; it ends once they are durable, with what the record became.

This runs for every record at thousands of records a second, so it does the least it can: one span, started and
ended explicitly (no context attach and detach), and its attributes (the record's and what it became) set in one
call as it ends: the SDK checks attributes a call at a time, and each call costs more than its values do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.trace import Span, SpanKind

from services.ingest.pipeline import Outcome, dead_letter_cause
from services.shared import tracing
from services.shared.deadletter import ConsumedRecord

#: Span attribute: what noise control did with the triggers it kept back (``Outcome.held``).
HELD = "alertmesh.held"


def start(record: ConsumedRecord) -> Span:
    """The record's span, started now (its attributes come with ``finish`` or ``abandon``)."""
    return tracing.tracer().start_span(
        f"process {record.topic}", context=tracing.parent_of(record.headers), kind=SpanKind.CONSUMER
    )


def finish(span: Span, record: ConsumedRecord, outcome: Outcome) -> None:
    """End the span with the record's Kafka attributes, the ids of the first trigger (the trigger records carry
    the rest), what noise control kept back and why, and, when the record was dead-lettered, its stage and
    reason."""
    if not span.is_recording():
        return
    attributes = _record_attributes(record)
    first = outcome.triggers[0] if outcome.triggers else outcome.held[0][0] if outcome.held else None
    if first is not None:
        event = first.event
        attributes[tracing.EVENT_ID] = event.correlationid  # the alert's event id (``keys.alert_event_id``)
        attributes[tracing.CORRELATION_ID] = event.correlationid
        attributes[tracing.ROUTE] = event.data.route
        attributes[tracing.WORKFLOW] = event.data.workflow
        attributes["alertmesh.triggers"] = len(outcome.triggers)
    if outcome.triggers:
        # Only a key that went out: a repeat's key names the run of the alert it repeats, not this record.
        attributes[tracing.IDEMPOTENCY_KEY] = outcome.triggers[0].event.data.idempotency_key
    if outcome.held:
        attributes[HELD] = "; ".join(note for _, note in outcome.held)[:2000]
    if outcome.failures:
        cause = dead_letter_cause(outcome.failures)
        tracing.dead_lettered(span, cause.stage, cause.reason, attributes)
    else:
        if outcome.dropped:
            attributes["alertmesh.dropped"] = outcome.dropped[0].reason[:2000]
        span.set_attributes(attributes)
    span.end()


def finish_all(spans: Sequence[Span], outcomes: Sequence[tuple[ConsumedRecord, Outcome]]) -> None:
    """``finish`` each span with its record and outcome (``spans`` in the order of ``outcomes``)."""
    for span, (record, outcome) in zip(spans, outcomes, strict=True):
        finish(span, record, outcome)


def abandon(spans: Sequence[Span], records: Sequence[ConsumedRecord], error: BaseException) -> None:
    """The batch was not written (Kafka unavailable past the retry budget, or shutdown): it will be read again."""
    for span, record in zip(spans, records, strict=True):
        if span.is_recording():
            description = f"not written, the batch is read again: {type(error).__name__}: {error}"
            tracing.failed(span, description, _record_attributes(record))
            span.end()


def _record_attributes(record: ConsumedRecord) -> dict[str, Any]:
    return tracing.kafka_attributes(record.topic, record.partition, record.offset, record.key)
