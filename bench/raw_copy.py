"""``python -m bench.raw_copy BOOTSTRAP SOURCE TARGET GROUP COUNT``: the raw ceiling under ingest, in one process.

Consumes ``SOURCE`` and produces each value (with its key and headers) to ``TARGET`` the way the ingest service
moves records, minus parsing and routing: a batch at a time (``getmany`` with ingest's default batch size), every
record of the batch produced without waiting for its acknowledgement, then all acknowledgements awaited (acks=all,
ingest's producer batch size), then the batch's offsets committed. That is the honest ceiling: the same Kafka work
per record and the same guarantee (nothing committed before it is durable)."""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.ingest.config import IngestSettings
from services.shared.kafka import KafkaSettings


async def copy(kafka: KafkaSettings, source: str, target: str, group_id: str, count: int, batch: int) -> None:
    """Copy ``count`` records (or a few more: whole batches) from ``source`` to ``target`` in batches of at most
    ``batch``, committing each batch once all of it is acknowledged."""
    consumer = AIOKafkaConsumer(
        source,
        **kafka.client_kwargs(),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
    )
    producer = AIOKafkaProducer(
        **kafka.client_kwargs(),
        acks="all",
        enable_idempotence=kafka.enable_idempotence,
        max_batch_size=kafka.producer_batch_size(),
        max_request_size=kafka.max_message_bytes,
    )
    await consumer.start()
    await producer.start()
    try:
        copied = 0
        while copied < count:
            fetched = await consumer.getmany(timeout_ms=kafka.fetch_max_wait_ms, max_records=batch)
            records = [record for part in fetched.values() for record in part]
            if not records:
                continue
            sent = [
                await producer.send(target, record.value, key=record.key, headers=list(record.headers))
                for record in records
            ]
            await asyncio.gather(*sent)
            await consumer.commit()  # the position: just past the batch
            copied += len(records)
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    """The command line (see the module's docstring); the batch size is ingest's default."""
    bootstrap, source, target, group_id, count = sys.argv[1:6]
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    batch = IngestSettings.model_fields["batch_max_records"].default
    asyncio.run(copy(kafka, source, target, group_id, int(count), batch))


if __name__ == "__main__":
    main()
