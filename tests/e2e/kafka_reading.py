"""Reading helpers for end-to-end tests: find the event a test caused, see what a consumer group committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from alertmesh import kafka_tools
from schemas import CloudEvent
from services.shared.kafka import KafkaSettings

E = TypeVar("E", bound=CloudEvent)


async def next_event(
    kafka: KafkaSettings,
    topic: str,
    model: type[E],
    start: dict[int, int],
    match: Callable[[E], bool],
    timeout_s: float = 60,
) -> E:
    """The first event on ``topic`` after ``start`` offsets for which ``match`` is true."""
    async for value in kafka_tools.read(kafka, topic, follow=True, start=start, timeout_s=timeout_s):
        event = model.from_json(value)
        if match(event):
            return event
    raise AssertionError("unreachable: read(follow=True) ends only by timeout")


async def committed(kafka: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    """Offsets ``group`` committed on ``topic``, read without joining the group (no rebalance)."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            await consumer.topics()
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        return {tp.partition: (await consumer.committed(tp)) or 0 for tp in partitions}
    finally:
        await consumer.stop()
