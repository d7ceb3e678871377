"""The ingest consumer: two stages in one process, each a consumer group reading a batch at a time.

1. ``normalize`` reads the raw topic (any partition: it keeps no state): parse, normalize, route, build each
   trigger, then write it to the internal routed topic keyed by its noise-control state (``rekey``), the alerts
   table's row of every alert (``alert_rows``), and dead letters.
2. ``decide`` reads the routed topic: time windows, thresholds, silences and inhibition, the dedup window and
   grouping (``noise``), each keyed state meeting on one partition whatever partition or replica its raw records
   landed on; then writes triggers.

Each subscriber is a FastStream batch subscriber taking the raw ``KafkaMessage`` rather than typed models: inputs
arrive in many vendor formats and poison must reach the dead-letter topic with its original bytes, which validation
at the edge would reject before our handler could see them. The shared batch parser and decoder
(``services.shared.consuming``) make sure FastStream itself never fails on a record before the handler runs.

Why FastStream's batch mode rather than an aiokafka loop of our own (faststream 0.7.8, ``BatchSubscriber``): it
fetches with ``getmany(max_records=...)`` and hands the handler every record of the fetch; with NACK_ON_ERROR it
commits (``consumer.commit()``, the position just past the batch) only after the handler returned, seeks every
partition of the batch back to its first record when the handler raised, and does neither when the handler is
cancelled. That is exactly "commit only what is durable"; the watchdog (``consumer_health``) and the group timing
work on it unchanged. Per-record poison handling lives in the handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiokafka.abc import ConsumerRebalanceListener
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from services.ingest import record_spans
from services.ingest.alert_rows import AlertRows
from services.ingest.config import IngestSettings
from services.ingest.emitter import Emitter
from services.ingest.noise import noise_control
from services.ingest.noise.muting import Muting
from services.ingest.parsers import parsers_for
from services.ingest.parsers.field_maps import load_field_maps
from services.ingest.pipeline import EVENT_SOURCE, process_all
from services.ingest.rekey import rekeyed, routed_outcome
from services.ingest.routing import RoutingReloader, RoutingTable
from services.shared.alert_table import AlertTable
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetters, consumed_batch, keep_bodies_raw, parse_batch
from services.shared.kafka import ProducerPublisher
from services.shared.silences import Silences
from services.shared.tracing import span_headers

CLIENT_ID = "alertmesh-ingest"


def build_app(
    settings: IngestSettings,
    routing: RoutingTable | None = None,
    *,
    silences: Silences | None = None,
    alerts: AlertTable | None = None,
) -> tuple[FastStream, KafkaBroker]:
    """The ingest app and its broker. Loads the routing file and the field-map file (a bad one raises
    ``RoutingFileError`` or ``FieldMapFileError`` here) and, while the app runs, reloads the routing file when it
    changes; ``routing`` given instead is fixed. ``silences`` and ``alerts``: the global tables, by default read
    from their compacted topics (in-memory ones for tests against FastStream's test broker)."""
    # Given rules are fixed: their reloader is never started.
    reloader = RoutingReloader.load(settings.routing_file) if routing is None else RoutingReloader.fixed(routing)
    parsers = parsers_for(load_field_maps(settings.field_maps_file) if settings.field_maps_file else {})
    broker = settings.kafka.broker(client_id=CLIENT_ID)
    max_bytes = settings.kafka.max_message_bytes
    backoff = Backoff(max_s=settings.publish_backoff_max_s, budget_s=settings.publish_retry_budget_s)
    # Every record goes through the broker's own producer (``ProducerPublisher``, the mesh's one way to publish):
    # routed records and triggers are the hot path (one per alert); dead letters are rare but take the same path.
    dead_letters = DeadLetters(
        ProducerPublisher(broker, settings.topics.dlq), source=EVENT_SOURCE, max_bytes=max_bytes, backoff=backoff
    )
    triggers = ProducerPublisher(broker, settings.topics.triggers)
    # Stage 1's emitter writes each trigger to the routed topic (keyed by ``rekey``), stage 2's to the triggers.
    routed = ProducerPublisher(broker, settings.topics.routed)
    to_routed = Emitter(triggers=routed, dead_letters=dead_letters, backoff=backoff, final=False)
    to_triggers = Emitter(triggers=triggers, dead_letters=dead_letters, backoff=backoff)
    # The global tables every replica reads whole: silences, and every alert as last seen (inhibition's sources).
    silences = silences or Silences(settings.kafka, settings.topics.silences, backoff=backoff)
    # Every change of the alerts table (this replica's writes and every other's) updates inhibition's index.
    alerts = alerts or AlertTable(
        settings.kafka,
        settings.topics.alerts,
        backoff=backoff,
        on_change=lambda key, row: muting.alert_changed(key, row),
    )
    muting = Muting(silences, alerts, lambda: reloader.table)
    rows = AlertRows(alerts, muting)
    noise = noise_control(settings, lambda: reloader.table, to_triggers, triggers, dead_letters, backoff, muting)

    # NACK_ON_ERROR: commit only after the handler returned, i.e. after every publish of the batch was
    # acknowledged (acks=all). If publishing still fails after the retry budget, the consumer seeks back to the
    # batch's first records and reads them again: the partitions wait, nothing is skipped or committed past.
    # Poison never raises here: it becomes its record's dead letter, and its neighbours go on.
    async def normalize(message: KafkaMessage) -> None:
        table = reloader.table  # the rules in force for this whole batch
        records = consumed_batch(message)
        # A span per record; its context rides on every routed record and dead letter the record causes.
        spans = [record_spans.start(record) for record in records]
        traces = [span_headers(span) for span in spans]
        processed = await process_all(records, table, max_bytes, parsers, traces, settings.max_alerts_per_record)
        outcomes = [(record, rekeyed(outcome, table)) for record, outcome in zip(records, processed, strict=True)]
        try:
            # The alerts table first: stage 2 reads it (inhibition) for what it decides on these alerts.
            await rows.write(outcomes)
            await to_routed.emit_batch(outcomes)
        except BaseException as error:
            record_spans.abandon(spans, records, error)
            raise
        record_spans.finish_all(spans, outcomes)

    async def decide(message: KafkaMessage) -> None:
        records = consumed_batch(message)
        spans = [record_spans.start(record) for record in records]
        batch = [routed_outcome(record, span_headers(span)) for record, span in zip(records, spans, strict=True)]
        try:
            emitted = await noise.emit_batch(batch)
        except BaseException as error:
            record_spans.abandon(spans, records, error)
            raise
        record_spans.finish_all(spans, emitted)

    _subscribe(broker, settings, settings.topics.raw, settings.group_id, normalize)
    _subscribe(broker, settings, settings.topics.routed, settings.decide_group_id, decide, noise.listener)
    app = FastStream(broker)

    # Coroutines: FastStream runs a plain function hook in a worker thread, which has no event loop.
    async def start_tables() -> None:
        await silences.start()
        await alerts.start()

    async def stop_tables() -> None:
        await alerts.stop()
        await silences.stop()

    # The tables are read before the consumers start, so no batch is decided without the silences in force.
    app.on_startup(start_tables)
    app.after_startup(noise.start)
    app.on_shutdown(noise.stop)
    app.after_shutdown(stop_tables)
    if routing is None:

        async def start_reloading() -> None:
            reloader.start(settings.routing_reload_s)

        async def stop_reloading() -> None:
            await reloader.stop()

        app.after_startup(start_reloading)
        app.on_shutdown(stop_reloading)
    return app, broker


def _subscribe(
    broker: KafkaBroker,
    settings: IngestSettings,
    topic: str,
    group_id: str,
    handler: Callable[[KafkaMessage], Awaitable[None]],
    listener: ConsumerRebalanceListener | None = None,
) -> None:
    """Subscribe ``handler`` to ``topic`` as a batch consumer of ``group_id``: both stages alike."""
    broker.subscriber(
        topic,
        group_id=group_id,
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
        listener=listener,
    )(handler)
