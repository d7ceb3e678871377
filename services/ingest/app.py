"""The ingest consumer: raw alerts from ``settings.topics.raw`` -> triggers or dead letters.

One FastStream broker and app. The subscriber takes the raw ``KafkaMessage`` rather than a typed model: inputs
arrive in many vendor formats and poison must reach the dead-letter topic with its original bytes, which
validation at the edge would reject before our handler could see them. The shared parser and decoder
(``services.shared.consuming``) make sure FastStream itself never fails on a record before the handler runs.
"""

from __future__ import annotations

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from services.ingest.config import IngestSettings
from services.ingest.emitter import Emitter
from services.ingest.pipeline import EVENT_SOURCE, process
from services.ingest.routing import RoutingTable, load_routing
from services.shared.consuming import DeadLetters, keep_body_raw, parse_record
from services.shared.deadletter import consumed_record
from services.shared.retry import Backoff

CLIENT_ID = "alertmesh-ingest"


def build_app(settings: IngestSettings, routing: RoutingTable | None = None) -> tuple[FastStream, KafkaBroker]:
    """The ingest app and its broker. Loads the routing file (a bad one raises ``RoutingFileError`` here)."""
    table = routing if routing is not None else load_routing(settings.routing_file)
    broker = settings.kafka.broker(client_id=CLIENT_ID)
    max_bytes = settings.kafka.max_message_bytes
    backoff = Backoff(max_s=settings.publish_backoff_max_s, budget_s=settings.publish_retry_budget_s)
    dead_letters = DeadLetters(
        broker.publisher(settings.topics.dlq), source=EVENT_SOURCE, max_bytes=max_bytes, backoff=backoff
    )
    emitter = Emitter(triggers=broker.publisher(settings.topics.triggers), dead_letters=dead_letters, backoff=backoff)

    # NACK_ON_ERROR: commit only after the handler returned, i.e. after every publish was acknowledged
    # (acks=all). If publishing still fails after the retry budget, the consumer seeks back to this record
    # and reads it again: the partition waits, nothing is skipped or committed past. Poison never raises here:
    # it becomes a dead letter.
    @broker.subscriber(
        settings.topics.raw,
        group_id=settings.group_id,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        # Group timing: a restarted ingest gets its partitions back within seconds (see KafkaSettings).
        session_timeout_ms=settings.kafka.session_timeout_ms,
        heartbeat_interval_ms=settings.kafka.heartbeat_interval_ms,
        rebalance_timeout_ms=settings.kafka.rebalance_timeout_ms,
        max_poll_interval_ms=settings.kafka.max_poll_interval_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        parser=parse_record,
        decoder=keep_body_raw,
    )
    async def ingest(message: KafkaMessage) -> None:
        record = consumed_record(message)
        await emitter.emit(record, process(record, table, max_bytes))

    return FastStream(broker), broker
