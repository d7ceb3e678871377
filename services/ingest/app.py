"""The ingest consumer: raw alerts from ``settings.topics.raw`` -> triggers or dead letters.

One FastStream broker and app. The subscriber takes the raw ``KafkaMessage`` rather than a typed model: inputs
arrive in many vendor formats and poison must reach the dead-letter topic with its original bytes, which
validation at the edge would reject before our handler could see them.
"""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy

from services.ingest.config import IngestSettings
from services.ingest.emitter import Emitter
from services.ingest.pipeline import process
from services.ingest.routing import RoutingTable, load_routing
from services.shared.deadletter import consumed_record
from services.shared.retry import Backoff

CLIENT_ID = "alertmesh-ingest"


async def keep_body_raw(message: StreamMessage[Any]) -> bytes:
    """Decoder that never fails: the pipeline parses the bytes itself (FastStream would json-decode them)."""
    return message.body


async def tolerate_bad_headers(record: ConsumerRecord[Any, Any], parse: Any) -> StreamMessage[Any]:
    """FastStream decodes header values as strict UTF-8; replace bad bytes so such a record dead-letters."""
    headers = list(record.headers)
    if any(_not_utf8(value) for _, value in headers):
        record.headers = [(name, value.decode("utf-8", "replace").encode()) for name, value in headers]
    message: StreamMessage[Any] = await parse(record)
    return message


def _not_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def build_app(settings: IngestSettings, routing: RoutingTable | None = None) -> tuple[FastStream, KafkaBroker]:
    """The ingest app and its broker. Loads the routing file (a bad one raises ``RoutingFileError`` here)."""
    table = routing if routing is not None else load_routing(settings.routing_file)
    broker = settings.kafka.broker(client_id=CLIENT_ID)
    emitter = Emitter(
        triggers=broker.publisher(settings.topics.triggers),
        dead_letters=broker.publisher(settings.topics.dlq),
        backoff=Backoff(max_s=settings.publish_backoff_max_s, budget_s=settings.publish_retry_budget_s),
    )

    # NACK_ON_ERROR: commit only after the handler returned, i.e. after every publish was acknowledged
    # (acks=all). If publishing still fails after the retry budget, the consumer seeks back to this record
    # and reads it again: the partition waits, nothing is skipped or committed past.
    @broker.subscriber(
        settings.topics.raw,
        group_id=settings.group_id,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        parser=tolerate_bad_headers,
        decoder=keep_body_raw,
    )
    async def ingest(message: KafkaMessage) -> None:
        await emitter.emit(process(consumed_record(message), table))

    return FastStream(broker), broker
