"""Consumer lag against the real (embedded Tansu) broker: the lag of each assigned partition is its end offset
minus the committed offset (or the position before any commit), right even though Tansu's ListOffsets answer
miscounts record batches."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from alertmesh import kafka_tools
from services.shared.consumer_lag import consumer_lag
from services.shared.kafka import KafkaSettings

pytestmark = pytest.mark.integration


async def produce(producer: AIOKafkaProducer, tp: TopicPartition, bursts: list[int]) -> None:
    """Each burst is queued at once (aiokafka sends it as one record batch), then awaited."""
    for size in bursts:
        sent = [await producer.send(tp.topic, f"record {i}".encode(), partition=tp.partition) for i in range(size)]
        await asyncio.gather(*sent)


async def test_lag_is_end_offset_minus_committed_per_partition(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"lag-group-{uuid.uuid4().hex[:8]}"
    await kafka_tools.ensure_topics(kafka, [topic], partitions=2)
    first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        await produce(producer, first, [5, 3, 1, 1])  # 10 records in 4 batches
        await produce(producer, second, [4])  # 4 records in 1 batch
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([first, second])
        await consumer.seek_to_beginning(first, second)
        # What Tansu 0.6 answers to ListOffsets: the last batch's base offset + 1 (Kafka would say 10 and 4). The
        # day this fails, Tansu counts records and consumer_lag's docstring can say so.
        assert await consumer.end_offsets([first, second]) == {first: 10, second: 1}
        fetched = await consumer.getmany(timeout_ms=5000)
        while sum(len(records) for records in fetched.values()) < 14:
            more = await consumer.getmany(timeout_ms=5000)
            assert more, f"fetched only {fetched}"
            for tp, records in more.items():
                fetched.setdefault(tp, []).extend(records)
        await consumer.commit({first: 4})

        lag = await consumer_lag(consumer, group)

        # Partition 1 has nothing committed yet: its lag counts from the consumer's position (4: all fetched).
        assert lag == {(group, topic, 0): 6, (group, topic, 1): 0}
        await consumer.commit({second: 1})
        assert (await consumer_lag(consumer, group))[(group, topic, 1)] == 3  # the fetch's high watermark: 4
        await consumer.commit({first: 10, second: 4})
        assert await consumer_lag(consumer, group) == {(group, topic, 0): 0, (group, topic, 1): 0}
    finally:
        await consumer.stop()
