"""The bench's Kafka side: publishing alerts (acks=all), counting a topic's records by its end offsets, and
tailing the results topic keyed by correlation id."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.payloads import HEADERS
from schemas import WorkflowResult
from services.shared.kafka import KafkaSettings

POLL_S = 0.02


async def publish_all(kafka: KafkaSettings, topic: str, payloads: Sequence[bytes]) -> None:
    """Publish every payload as fast as the broker takes them (all in flight at once), acks=all."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        sent = [await producer.send(topic, payload, headers=HEADERS) for payload in payloads]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def topic_size(kafka: KafkaSettings, topic: str) -> int:
    """Records ever written to ``topic``: the sum of its partitions' end offsets."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        return await _size(consumer, topic)
    finally:
        await consumer.stop()


async def _size(consumer: AIOKafkaConsumer, topic: str) -> int:
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        await consumer._client.force_metadata_update()  # a topic created since the consumer started
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    offsets = await consumer.end_offsets(partitions)
    return sum(offsets.values())


@dataclass(frozen=True)
class Progress:
    """How a topic grew by ``target`` records: when the first and the last of them were there."""

    target: int
    started: float
    first_at: float | None
    first_count: int
    done_at: float | None
    reached: int

    def rate(self) -> float:
        """Records per second while they flowed (from the first one seen to the last); 0 if not done."""
        if self.done_at is None:
            return 0.0
        if self.first_at is not None and self.done_at > self.first_at and self.target > self.first_count:
            return (self.target - self.first_count) / (self.done_at - self.first_at)
        return self.target / max(self.done_at - self.started, POLL_S)


async def watch_growth(kafka: KafkaSettings, topic: str, base: int, target: int, timeout_s: float) -> Progress:
    """Poll ``topic``'s end offsets until it holds ``target`` more records than ``base`` (or the timeout)."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    started = time.monotonic()
    first_at, first_count, count = None, 0, 0
    try:
        while time.monotonic() - started < timeout_s:
            count = await _size(consumer, topic) - base
            now = time.monotonic()
            if count > 0 and first_at is None:
                first_at, first_count = now, count
            if count >= target:
                return Progress(target, started, first_at, first_count, now, count)
            await asyncio.sleep(POLL_S)
        return Progress(target, started, first_at, first_count, None, count)
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Arrival:
    result: WorkflowResult
    at: float


@dataclass
class ResultTail:
    """Reads the results topic from its beginning until stopped, keeping each correlation id's first result."""

    kafka: KafkaSettings
    topic: str
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            **self.kafka.client_kwargs(),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.kafka.fetch_max_wait_ms,
        )
        await consumer.start()
        self._task = asyncio.create_task(self._run(consumer), name="bench-results")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                now = time.monotonic()
                for records in batches.values():
                    for record in records:
                        result = WorkflowResult.from_json(record.value or b"")
                        self.arrivals.setdefault(result.correlationid, Arrival(result, now))
        finally:
            await consumer.stop()

    async def wait_for(self, correlationids: Sequence[str], timeout_s: float) -> int:
        """Wait until every id has a result or the timeout; how many have one."""
        deadline = time.monotonic() + timeout_s
        while True:
            have = sum(1 for c in correlationids if c in self.arrivals)
            if have == len(correlationids) or time.monotonic() > deadline:
                return have
            await asyncio.sleep(0.05)
