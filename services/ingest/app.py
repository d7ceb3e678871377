"""The ingest consumer: raw alerts from ``settings.topics.raw`` -> triggers or dead letters, a batch at a time.

One FastStream broker and app. The subscriber is a batch subscriber taking the raw ``KafkaMessage`` rather than
typed models: inputs arrive in many vendor formats and poison must reach the dead-letter topic with its original
bytes, which validation at the edge would reject before our handler could see them. The shared batch parser and
decoder (``services.shared.consuming``) make sure FastStream itself never fails on a record before the handler
runs.

Why FastStream's batch mode rather than an aiokafka loop of our own (faststream 0.7.8, ``BatchSubscriber``): it
fetches with ``getmany(max_records=...)`` and hands the handler every record of the fetch; with NACK_ON_ERROR it
commits (``consumer.commit()``, the position just past the batch) only after the handler returned, seeks every
partition of the batch back to its first record when the handler raised, and does neither when the handler is
cancelled. That is exactly "commit only what is durable"; the watchdog (``consumer_health``) and the group timing
work on it unchanged. Per-record poison handling lives in the handler, as before.
"""

from __future__ import annotations

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from services.ingest import record_spans
from services.ingest.config import IngestSettings
from services.ingest.emitter import Emitter
from services.ingest.noise import noise_control
from services.ingest.parsers import parsers_for
from services.ingest.parsers.field_maps import load_field_maps
from services.ingest.pipeline import EVENT_SOURCE, process_all
from services.ingest.routing import RoutingReloader, RoutingTable
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetters, consumed_batch, keep_bodies_raw, parse_batch
from services.shared.kafka import ProducerPublisher
from services.shared.tracing import span_headers

CLIENT_ID = "alertmesh-ingest"


def build_app(settings: IngestSettings, routing: RoutingTable | None = None) -> tuple[FastStream, KafkaBroker]:
    """The ingest app and its broker. Loads the routing file and the field-map file (a bad one raises
    ``RoutingFileError`` or ``FieldMapFileError`` here) and, while the app runs, reloads the routing file when it
    changes; ``routing`` given instead is fixed."""
    # Given rules are fixed: their reloader is never started.
    reloader = RoutingReloader.load(settings.routing_file) if routing is None else RoutingReloader.fixed(routing)
    parsers = parsers_for(load_field_maps(settings.field_maps_file) if settings.field_maps_file else {})
    broker = settings.kafka.broker(client_id=CLIENT_ID)
    max_bytes = settings.kafka.max_message_bytes
    backoff = Backoff(max_s=settings.publish_backoff_max_s, budget_s=settings.publish_retry_budget_s)
    # Every record goes through the broker's own producer (``ProducerPublisher``, the mesh's one way to publish):
    # triggers are the hot path (one per alert); dead letters are rare but take the same path.
    dead_letters = DeadLetters(
        ProducerPublisher(broker, settings.topics.dlq), source=EVENT_SOURCE, max_bytes=max_bytes, backoff=backoff
    )
    triggers = ProducerPublisher(broker, settings.topics.triggers)
    emitter = Emitter(triggers=triggers, dead_letters=dead_letters, backoff=backoff)
    noise = noise_control(settings, lambda: reloader.table, emitter, triggers, dead_letters, backoff)

    # NACK_ON_ERROR: commit only after the handler returned, i.e. after every publish of the batch was
    # acknowledged (acks=all). If publishing still fails after the retry budget, the consumer seeks back to the
    # batch's first records and reads them again: the partitions wait, nothing is skipped or committed past.
    # Poison never raises here: it becomes its record's dead letter, and its neighbours go on.
    @broker.subscriber(
        settings.topics.raw,
        group_id=settings.group_id,
        batch=True,
        max_records=settings.batch_max_records,
        # How long a fetch may wait for a batch to fill; FastStream also sleeps this long after an empty one.
        batch_timeout_ms=settings.kafka.fetch_max_wait_ms,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        # Group timing: a restarted ingest gets its partitions back within seconds (see KafkaSettings).
        session_timeout_ms=settings.kafka.session_timeout_ms,
        heartbeat_interval_ms=settings.kafka.heartbeat_interval_ms,
        rebalance_timeout_ms=settings.kafka.rebalance_timeout_ms,
        max_poll_interval_ms=settings.kafka.max_poll_interval_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        parser=parse_batch,
        decoder=keep_bodies_raw,
        listener=noise.listener,
    )
    async def ingest(message: KafkaMessage) -> None:
        table = reloader.table  # the rules in force for this whole batch
        records = consumed_batch(message)
        # A span per record; its context rides on every trigger and dead letter the record causes.
        spans = [record_spans.start(record) for record in records]
        traces = [span_headers(span) for span in spans]
        processed = await process_all(records, table, max_bytes, parsers, traces, settings.max_alerts_per_record)
        outcomes = list(zip(records, processed, strict=True))
        try:
            emitted = await noise.emit_batch(outcomes)
        except BaseException as error:
            record_spans.abandon(spans, records, error)
            raise
        record_spans.finish_all(spans, emitted)

    app = FastStream(broker)
    app.after_startup(noise.start)
    app.on_shutdown(noise.stop)
    if routing is None:
        # Coroutines: FastStream runs a plain function hook in a worker thread, which has no event loop.
        async def start_reloading() -> None:
            reloader.start(settings.routing_reload_s)

        async def stop_reloading() -> None:
            await reloader.stop()

        app.after_startup(start_reloading)
        app.on_shutdown(stop_reloading)
    return app, broker
