"""Small aiokafka helpers for integration tests: create topics, produce, read back, ask committed offsets."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.ingest.config import IngestSettings
from services.ingest.defaults import ROUTING_FILE
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings


def fresh_ingest_settings(kafka_bootstrap: str) -> IngestSettings:
    """Ingest on fresh topics and a fresh consumer group, routing with ingest's default routing.yaml."""
    return IngestSettings(
        group_id=f"ingest-{uuid.uuid4().hex[:8]}",
        routing_file=ROUTING_FILE,
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        topics=unique_topics(),
    )


def unique_topics() -> TopicSettings:
    """Topic names no other test uses, so tests sharing one broker never see each other's messages."""
    suffix = uuid.uuid4().hex[:10]
    return TopicSettings.tagged(suffix)


async def create_topics(bootstrap: str, topics: TopicSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1) for name in topics.all()])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes | None = None,
                  headers: list[tuple[str, bytes]] | None = None) -> Any:  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        return await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def read(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[ConsumerRecord[Any, Any]]:
    """The first ``count`` records of partition 0 (fails the test if they do not arrive in time)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        records: list[ConsumerRecord[Any, Any]] = []
        async with asyncio.timeout(timeout):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=500)
                records.extend(record for part in batch.values() for record in part)
        return records
    finally:
        await consumer.stop()


async def end_offset(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([partition]))[partition])
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group_id: str, topic: str) -> int | None:
    """The group's committed offset on partition 0 (the admin OffsetFetch does not work against Tansu)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        offset = await consumer.committed(TopicPartition(topic, 0))
        return None if offset is None else int(offset)
    finally:
        await consumer.stop()


async def produce_all(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Write ``values`` in order, all in flight at once (acks=all), so a consumer that starts later fetches them
    together."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=1_048_576)
    await producer.start()
    try:
        sent = [await producer.send(topic, value) for value in values]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
