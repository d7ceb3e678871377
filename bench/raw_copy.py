"""``python -m bench.raw_copy BOOTSTRAP SOURCE TARGET GROUP COUNT``: the raw ceiling under ingest, in one process.

Consumes ``SOURCE`` and produces each value (with its headers) to ``TARGET`` with acks=all, the way the ingest
service handles a record: one record at a time, its publish acknowledged before the offset is committed."""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.shared.kafka import KafkaSettings


async def copy(kafka: KafkaSettings, source: str, target: str, group_id: str, count: int) -> None:
    consumer = AIOKafkaConsumer(
        source,
        **kafka.client_kwargs(),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", enable_idempotence=kafka.enable_idempotence)
    await consumer.start()
    await producer.start()
    try:
        for _ in range(count):
            record = await consumer.getone()
            await producer.send_and_wait(target, record.value, key=record.key, headers=list(record.headers))
            await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    bootstrap, source, target, group_id, count = sys.argv[1:6]
    asyncio.run(copy(KafkaSettings(bootstrap_servers=bootstrap), source, target, group_id, int(count)))


if __name__ == "__main__":
    main()
