"""Small Kafka operations the command line needs: create topics, publish a payload, read events."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import RecordMetadata

from services.shared.kafka import KafkaSettings

#: ``read`` fetches at most about this many bytes at once, and hands out at most ``READ_BATCH_RECORDS`` records of
#: it per step, so what it holds does not grow with the topic.
READ_FETCH_BYTES = 1024 * 1024
READ_BATCH_RECORDS = 100


async def ensure_topics(kafka: KafkaSettings, topics: list[str], partitions: int, timeout_s: float = 30) -> None:
    """Create the topics that don't exist yet (replication 1 is what a single embedded broker can hold)."""
    deadline = time.monotonic() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(**kafka.client_kwargs())
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
            if missing:
                # Another process may create one between list and create: that is fine.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(missing)
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def publish(
    kafka: KafkaSettings,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> RecordMetadata:
    """Write one message with acks=all and return where it landed."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        encoded = [(k, v.encode()) for k, v in (headers or {}).items()]
        return await producer.send_and_wait(topic, value, key=key, headers=encoded)
    finally:
        await producer.stop()


async def end_offsets(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    """Current end offset per partition: where a reader that wants only new messages starts."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(partitions)
        ends = await true_end_offsets(consumer, partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 10) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while not (found := consumer.partitions_for_topic(topic)):
        if time.monotonic() > deadline:
            raise LookupError(f"topic {topic!r} does not exist")
        await consumer.topics()  # refreshes cluster metadata
        await asyncio.sleep(0.2)
    return set(found)


async def _reached(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> bool:
    for tp, offset in offsets.items():
        if await consumer.position(tp) < offset:
            return False
    return True


async def read(
    kafka: KafkaSettings,
    topic: str,
    *,
    follow: bool,
    start: dict[int, int] | None = None,
    timeout_s: float | None = None,
) -> AsyncIterator[bytes]:
    """Yield message values from ``start`` offsets (default: the beginning), without joining a consumer group.

    Without ``follow`` it stops at the end offsets seen when it started; ``timeout_s`` bounds the whole read.
    """
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        enable_auto_commit=False,
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
        # One fetch in memory at a time, of at most about this much (a record larger than it still comes whole).
        fetch_max_bytes=READ_FETCH_BYTES,
        max_partition_fetch_bytes=READ_FETCH_BYTES,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(partitions)
        # The true ends (they fetch once, so before seeking to the start): read in steps of READ_BATCH_RECORDS, the
        # position passes Tansu's listed end (its last batch's first offset + 1) before that batch is all read.
        stop_at = None if follow else await true_end_offsets(consumer, partitions)
        for tp in partitions:
            if start and tp.partition in start:
                consumer.seek(tp, start[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            if stop_at is not None and await _reached(consumer, stop_at):
                return
            wait_ms = 500 if deadline is None else int(max(0.0, min(0.5, deadline - time.monotonic())) * 1000)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"no more messages on {topic!r} within {timeout_s}s")
            batches = await consumer.getmany(*partitions, timeout_ms=wait_ms, max_records=READ_BATCH_RECORDS)
            for records in batches.values():
                for record in records:
                    yield record.value
    finally:
        await consumer.stop()


async def true_end_offsets(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """End offsets of ``partitions`` (assigned to ``consumer``), also right on the embedded Tansu broker: it answers
    ListOffsets with its last record batch's base offset + 1, not the offset after the batch's last record, while
    its fetch responses carry the right high watermark. So the last batch is fetched once and the larger of the two
    is taken (on Apache Kafka they agree)."""
    listed = await consumer.end_offsets(partitions)
    begins = await consumer.beginning_offsets(partitions)
    fetch = [tp for tp in partitions if listed[tp] > begins[tp]]
    for tp in fetch:
        consumer.seek(tp, listed[tp] - 1)
    if fetch:
        await consumer.getmany(*fetch, timeout_ms=1000)
    return {tp: max(listed[tp], consumer.highwater(tp) or 0) for tp in partitions}


async def tail(kafka: KafkaSettings, topic: str, per_partition: int) -> tuple[list[bytes], int]:
    """The last ``per_partition`` values of every partition of ``topic`` (partition by partition, oldest first),
    and how many records the topic holds in all. ``LookupError`` when the topic does not exist."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic, timeout_s=3))]
        consumer.assign(partitions)
        begins, ends = await consumer.beginning_offsets(partitions), await true_end_offsets(consumer, partitions)
        values: list[bytes] = []
        for tp in partitions:
            start = max(begins[tp], ends[tp] - per_partition)
            if start >= ends[tp]:
                continue
            consumer.seek(tp, start)
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=500)
                values += [r.value for r in batch.get(tp, []) if r.offset < ends[tp] and r.value is not None]
        return values, sum(ends[tp] - begins[tp] for tp in partitions)
    finally:
        await consumer.stop()


async def group_lag(kafka: KafkaSettings, group: str, topic: str) -> dict[int, tuple[int | None, int]]:
    """Per partition of ``topic``: the offset ``group`` committed (None: nothing yet) and the end offset, read
    without joining the group (no rebalance for its members). ``LookupError`` when the topic does not exist."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic, timeout_s=3))]
        consumer.assign(partitions)
        ends = await true_end_offsets(consumer, partitions)
        return {tp.partition: (await consumer.committed(tp), ends[tp]) for tp in partitions}
    finally:
        await consumer.stop()
