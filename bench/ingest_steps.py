"""What each step of ingest's path costs per record, in microseconds of this process's CPU time.

``python -m bench.pipeline_micro --steps [--records N] [--repeat R]`` runs it: every step of today's path, each
timed on its own over ``N`` bench alerts (``bench.payloads``: the Alertmanager payloads of ``alertmesh bench``'s
ingest phase, one alert each, distinct fingerprints), best of ``R``. Each step's inputs are made before it is
timed (the records for the consumer, the alerts for routing, the triggers for the producer), so a row is that step
alone. The Kafka rows use the real clients against an embedded Tansu broker started for the run: the time is the
client side (this process), the broker's own work is not in it.

Steps, in the order a record meets them:

- ``consume: fetch``: aiokafka's ``getmany`` as FastStream's batch subscriber calls it (fetch, decode the record
  batches, make ``ConsumerRecord``\\ s), over records preloaded on a topic;
- ``consume: FastStream batch``: ``services.shared.consuming``'s parser and decoder around FastStream's own batch
  parser, then ``consumed_batch``;
- ``parse: JSON``, ``parse: normalize``: ``decode_document``, then the format's parser building the ``Alert``
  (validation included), for the bench payload and the other common formats' samples;
- ``route``: ``RoutingTable.match``;
- ``identity``: the occurrence, idempotency key and the alert and trigger event ids (``schemas.identity``);
- ``trigger: build``: the ``WorkflowTrigger`` model (ids given); ``trigger: to_json``; ``trigger: checks``:
  ``undecodable``, the Kafka headers, the trace headers, ``record_size``; ``trigger: decode``: reading it back
  (``WorkflowTrigger.from_json``), what a consumer of a serialized trigger pays (the orchestrator, or a second
  ingest stage reading a routed record);
- ``pipeline.process``: all of the above from the record's bytes to a ready trigger, as ingest calls it;
- ``record span``: start, trace headers and end of the record's span, exported to the local span store;
- ``dedup``: noise control's in-memory decision (``NoiseControl.decide``, dedup window on, as ``up`` runs it);
- ``pipeline.process, batches of 500``: the same, a batch's outcomes kept until its end, as ingest keeps them
  until the batch is written (the garbage collector's cost grows with what is alive);
- ``produce: trigger``: ``ProducerPublisher.publish`` of each trigger (``no_confirm``, then every
  acknowledgement awaited), as the emitter writes a batch; ``produce: dedup state``: the dedup state entry each
  passing trigger writes (``StateLog``'s send).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaBatchParser

from alertmesh import kafka_tools, samples
from alertmesh.stack.embedded import free_port, tansu_command, wait_for_port
from bench.payloads import HEADERS, bench_alerts
from schemas.alert import Alert
from schemas.identity import alert_event_id, idempotency_key, occurrence, trigger_event_id
from schemas.trigger import Trigger, WorkflowTrigger
from services.ingest import record_spans
from services.ingest.config import IngestSettings
from services.ingest.noise.control import preview_noise_control
from services.ingest.noise.dedup import Seen, entry_key, entry_value
from services.ingest.noise.state_log import encoded
from services.ingest.parsers import PARSERS
from services.ingest.parsers.registry import decode_document
from services.ingest.pipeline import EVENT_SOURCE, Outcome, ReadyTrigger, process, undecodable
from services.ingest.routing import RoutingTable
from services.ingest.routing.table import load_routing
from services.shared import tracing
from services.shared.consuming import consumed_batch, keep_bodies_raw, parse_batch, tune_collector
from services.shared.deadletter import ConsumedRecord
from services.shared.kafka import KafkaSettings, ProducerPublisher, record_size, running_producer

MAX_BYTES = 1_048_576
#: Records per consumer fetch and per produced batch: ingest's ``INGEST_BATCH_MAX_RECORDS`` default.
BATCH = IngestSettings.model_fields["batch_max_records"].default
ROUTE = """\
routes:
  - name: bench-ingest
    match: {labels.bench: ingest, status: firing}
    workflow: bench-ingest-only
"""
#: The other common formats' samples timed by the parse rows (the bench payload is Alertmanager's).
FORMAT_SAMPLES = (
    "grafana-v1-firing.json",
    "cloudevents-structured.json",
    "prometheus/rule-group-firing.json",
    "datadog/default-template-triggered.json",
    "pagerduty/events-v2-trigger.json",
    "aws-sns/cloudwatch-alarm.json",
)


@dataclass(frozen=True)
class Step:
    """One row: the step's name and its best time per record in microseconds."""

    name: str
    us_per_record: float


def best_us(work: Callable[[], object], records: int, repeat: int) -> float:
    """Best-of-``repeat`` CPU time of ``work`` (which handles ``records`` records), per record, in microseconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / records * 1e6


def _consumed(payloads: Sequence[bytes]) -> list[ConsumedRecord]:
    received = datetime.now(UTC)
    headers = {name: value.decode() for name, value in HEADERS}
    return [
        ConsumedRecord(value=body, headers=headers, topic="alerts.raw", received_at=received, partition=0, offset=i)
        for i, body in enumerate(payloads)
    ]


def _trigger_parts(alert: Alert, workflow: str) -> tuple[str, str, str]:
    occurred = occurrence(alert)
    key = idempotency_key(alert, workflow, occurred)
    return key, alert_event_id(alert, occurred), trigger_event_id(key)


def _trigger(alert: Alert, parts: tuple[str, str, str], at: datetime) -> WorkflowTrigger:
    # ``pipeline.trigger`` with its ids given: the model alone.
    key, alert_id, trigger_id = parts
    data = Trigger(workflow="bench-ingest-only", idempotency_key=key, route="bench-ingest", inputs={}, alert=alert)
    return WorkflowTrigger(
        id=trigger_id, source=EVENT_SOURCE, time=at, subject=data.workflow, correlationid=alert_id,
        causationid=alert_id, data=data,
    )  # fmt: skip


def _checks(event: WorkflowTrigger, body: bytes, trace: dict[str, str]) -> int:
    undecodable(body)
    headers = event.kafka_headers()
    headers.update(trace)
    headers[tracing.BAGGAGE] = tracing.correlation_baggage(event.correlationid)
    return record_size(event.data.idempotency_key.encode(), body, headers)


def cpu_steps(records: int, repeat: int, routing: RoutingTable) -> tuple[list[Step], list[ReadyTrigger]]:
    """The steps without Kafka (see the module docstring); also the ready triggers, for the produce rows."""
    tag = uuid.uuid4().hex[:6]
    payloads = [alert.payload for alert in bench_alerts(tag, "ingest", records)]
    consumed = _consumed(payloads)
    headers = consumed[0].headers
    documents = [decode_document(body) for body in payloads]
    parser = next(p for p in PARSERS if p.accepts(documents[0], headers))
    alerts = [parser.parse(document, headers)[0] for document in documents]
    assert all(isinstance(alert, Alert) for alert in alerts)
    typed = [alert for alert in alerts if isinstance(alert, Alert)]
    parts = [_trigger_parts(alert, "bench-ingest-only") for alert in typed]
    at = consumed[0].received_at
    events = [_trigger(alert, part, at) for alert, part in zip(typed, parts, strict=True)]
    bodies = [event.to_json() for event in events]
    trace = {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    steps = [
        Step("parse: JSON (alertmanager.v4)", best_us(lambda: [decode_document(b) for b in payloads], records, repeat)),
        Step(
            "parse: normalize + validate (alertmanager.v4)",
            best_us(lambda: [parser.parse(d, headers) for d in documents], records, repeat),
        ),
        *_format_steps(records, repeat),
        Step("route", best_us(lambda: [routing.match(a) for a in typed], records, repeat)),
        Step("identity: key and event ids", best_us(lambda: [_trigger_parts(a, "w") for a in typed], records, repeat)),
        Step(
            "trigger: build",
            best_us(lambda: [_trigger(a, p, at) for a, p in zip(typed, parts, strict=True)], records, repeat),
        ),
        Step("trigger: to_json", best_us(lambda: [e.to_json() for e in events], records, repeat)),
        Step(
            "trigger: checks, headers, size",
            best_us(lambda: [_checks(e, b, trace) for e, b in zip(events, bodies, strict=True)], records, repeat),
        ),
        Step(
            "trigger: decode (WorkflowTrigger.from_json; what a consumer of it pays)",
            best_us(lambda: [WorkflowTrigger.from_json(b) for b in bodies], records, repeat),
        ),
        Step(
            "pipeline.process (parse to ready trigger)",
            best_us(
                lambda: [process(r, routing, MAX_BYTES, PARSERS, trace) and None for r in consumed], records, repeat
            ),
        ),
        Step(
            f"pipeline.process, batches of {BATCH}",
            best_us(
                lambda: _batches(consumed, lambda r: process(r, routing, MAX_BYTES, PARSERS, trace)), records, repeat
            ),
        ),
    ]
    outcomes = [process(record, routing, MAX_BYTES, PARSERS, trace) for record in consumed]
    ready = [trigger for outcome in outcomes for trigger in outcome.triggers]
    steps.append(Step("record span (tracing to the local span store)", _span_us(consumed, outcomes, repeat)))
    steps.append(Step("dedup: decision (window on)", _dedup_us(consumed, outcomes, routing, repeat)))
    return steps, ready


def _batches(records: Sequence[ConsumedRecord], step: Callable[[ConsumedRecord], object]) -> None:
    for start in range(0, len(records), BATCH):
        kept = [step(record) for record in records[start : start + BATCH]]
        del kept


def _format_steps(records: int, repeat: int) -> list[Step]:
    """Parse rows (JSON decode and normalize together) of the other common formats' samples."""
    steps = []
    headers = {"content-type": "application/json"}
    for name in FORMAT_SAMPLES:
        body = samples.sample(name).read_bytes()
        document = decode_document(body)
        parser = next(p for p in PARSERS if p.accepts(document, headers))
        bodies = [body] * records

        def work(bodies: list[bytes] = bodies, parser: Any = parser) -> None:
            for each in bodies:
                parser.parse(decode_document(each), headers)

        steps.append(Step(f"parse: JSON + normalize ({parser.format}, {name})", best_us(work, records, repeat)))
    return steps


def _span_us(consumed: Sequence[ConsumedRecord], outcomes: Sequence[Outcome], repeat: int) -> float:
    with _span_store() as flush:

        def work() -> None:
            # A batch at a time, as ingest: the export queue (2048 spans) never overflows and drops spans untimed.
            for start in range(0, len(consumed), BATCH):
                records, done = consumed[start : start + BATCH], outcomes[start : start + BATCH]
                spans = [record_spans.start(record) for record in records]
                for span in spans:
                    tracing.span_headers(span)
                record_spans.finish_all(spans, list(zip(records, done, strict=True)))
                flush()

        return best_us(work, len(consumed), repeat)


@contextmanager
def _span_store() -> Iterator[Callable[[], object]]:
    with tempfile.TemporaryDirectory(prefix="alertmesh-spans-") as directory:
        os.environ["ALERTMESH_TRACES_DIR"] = directory
        provider = tracing.setup("alertmesh-ingest")
        if provider is None:
            raise SystemExit("--steps: tracing is disabled here (OTEL_SDK_DISABLED?)")
        try:
            yield provider.force_flush
        finally:
            provider.shutdown()


def _dedup_us(
    consumed: Sequence[ConsumedRecord], outcomes: Sequence[Outcome], routing: RoutingTable, repeat: int
) -> float:
    batch = list(zip(consumed, outcomes, strict=True))
    chunks = [batch[i : i + BATCH] for i in range(0, len(batch), BATCH)]

    def work() -> None:
        # A fresh window each run: every alert is new, as in the bench's ingest phase.
        noise = preview_noise_control(IngestSettings(), lambda: routing)
        for chunk in chunks:
            noise.decide(chunk)

    return best_us(work, len(batch), repeat)


async def kafka_steps(
    kafka: KafkaSettings, payloads: Sequence[bytes], ready: Sequence[ReadyTrigger], repeat: int
) -> list[Step]:
    """The consume and produce rows, against the broker at ``kafka``."""
    topic = f"bench-steps-{uuid.uuid4().hex[:6]}"
    await kafka_tools.ensure_topics(kafka, [topic, f"{topic}-out", f"{topic}-state"], 1)
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", max_batch_size=kafka.producer_batch_size())
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, body, headers=HEADERS) for body in payloads])
    finally:
        await producer.stop()
    fetch, faststream = await _consume_us(kafka, topic, len(payloads), repeat)
    trigger, state = await _produce_us(kafka, f"{topic}-out", f"{topic}-state", ready, repeat)
    return [
        Step("consume: fetch (aiokafka getmany)", fetch),
        Step("consume: FastStream batch parser + consumed_batch", faststream),
        Step("produce: trigger (ProducerPublisher, acks=all)", trigger),
        Step("produce: dedup state entry", state),
    ]


async def _consume_us(kafka: KafkaSettings, topic: str, count: int, repeat: int) -> tuple[float, float]:
    fetch_best, parse_best = float("inf"), float("inf")
    parser = AioKafkaBatchParser(msg_class=KafkaMessage, regex=None)
    for _ in range(repeat):
        consumer = AIOKafkaConsumer(
            topic, **kafka.client_kwargs(), group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
        )
        await consumer.start()
        try:
            fetched: list[tuple[ConsumerRecord[Any, Any], ...]] = []
            started = time.process_time()
            got = 0
            while got < count:
                batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
                records = tuple(record for batch in batches.values() for record in batch)
                fetched.append(records)
                got += len(records)
            fetch_best = min(fetch_best, time.process_time() - started)
        finally:
            await consumer.stop()
        started = time.process_time()
        for records in fetched:
            if records:
                message = await parse_batch(records, parser.parse_batch)
                await keep_bodies_raw(message)
                consumed_batch(message)  # type: ignore[arg-type]
        parse_best = min(parse_best, time.process_time() - started)
    return fetch_best / count * 1e6, parse_best / count * 1e6


async def _produce_us(
    kafka: KafkaSettings, topic: str, state_topic: str, ready: Sequence[ReadyTrigger], repeat: int
) -> tuple[float, float]:
    broker = kafka.broker(client_id="bench-steps")
    publisher = ProducerPublisher(broker, topic)
    await broker.start()
    trigger_best, state_best = float("inf"), float("inf")
    chunks = [ready[i : i + BATCH] for i in range(0, len(ready), BATCH)]
    try:
        for _ in range(repeat):
            started = time.process_time()
            for chunk in chunks:
                sent = [await publisher.publish(t.body, key=t.key, headers=t.headers, no_confirm=True) for t in chunk]
                await asyncio.gather(*sent)
            trigger_best = min(trigger_best, time.process_time() - started)
            state_best = min(state_best, await _state_writes(broker, state_topic, chunks))
    finally:
        await broker.stop()
    return trigger_best / len(ready) * 1e6, state_best / len(ready) * 1e6


async def _state_writes(broker: Any, topic: str, chunks: Sequence[Sequence[ReadyTrigger]]) -> float:
    """CPU seconds to write each trigger's dedup state entry as ``StateLog`` does (JSON key and value, its own
    partition), a batch at a time."""
    producer = running_producer(broker)
    assert producer is not None
    started = time.process_time()
    for chunk in chunks:
        sent = []
        for ready in chunk:
            data = ready.event.data
            key = orjson.dumps(["alerts.raw", 0, *entry_key(data.route, data.alert)])
            value = encoded(entry_value(Seen(data.alert.status, ready.event.time.timestamp() * 1000)))
            sent.append(await producer.send(topic, value, key=key, partition=0))
        await asyncio.gather(*sent)
    return time.process_time() - started


@contextmanager
def embedded_broker(workdir: Path) -> Iterator[KafkaSettings]:
    """An embedded Tansu broker for the run (memory only), stopped after."""
    port = free_port()
    with (workdir / "tansu.log").open("wb") as log:
        broker = subprocess.Popen(tansu_command("127.0.0.1", port), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")
    finally:
        broker.terminate()
        broker.wait(timeout=30)


def measure(records: int, repeat: int, collector: str = "tuned") -> list[Step]:
    """Every step's cost per record (see the module docstring), the Kafka ones on an embedded broker.
    ``collector``: ``tuned`` as ingest runs (``consuming.tune_collector`` once started), ``default`` CPython's."""
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as directory:
        workdir = Path(directory)
        routing_file = workdir / "routing.yaml"
        routing_file.write_text(ROUTE)
        routing = load_routing(routing_file)
        if collector == "tuned":
            tune_collector()
        steps, ready = cpu_steps(records, repeat, routing)
        payloads = [alert.payload for alert in bench_alerts(uuid.uuid4().hex[:6], "ingest", records)]
        with embedded_broker(workdir) as kafka:
            steps += asyncio.run(kafka_steps(kafka, payloads, ready, repeat))
    return steps


def table(steps: Sequence[Step]) -> str:
    """The steps as a Markdown table (µs per record)."""
    rows = ["| step | us/record |", "|---|---|"]
    rows += [f"| {step.name} | {step.us_per_record:.1f} |" for step in steps]
    return "\n".join(rows)
