"""The bench's Kafka side: publishing alerts (acks=all), counting a topic's records by reading them, and
tailing the results topic keyed by correlation id."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from alertmesh.views.progress import Progress as ProgressLine
from bench.payloads import HEADERS
from schemas import WorkflowResult
from services.shared.kafka import KafkaSettings

POLL_S = 0.02
#: A fetch that waited this long and returned nothing: the reader has caught up with the topic.
IDLE_MS = 500


async def publish_all(kafka: KafkaSettings, topic: str, payloads: Sequence[bytes]) -> None:
    """Publish every payload as fast as the broker takes them (all in flight at once), acks=all."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", max_batch_size=kafka.producer_batch_size())
    await producer.start()
    try:
        sent = [await producer.send(topic, payload, headers=HEADERS) for payload in payloads]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def topic_size(kafka: KafkaSettings, topic: str) -> int:
    """Records on ``topic`` now, counted by reading it from the beginning until nothing more comes.

    Not from its end offsets: the embedded Tansu 0.6 broker reports end offsets below the records it holds once
    producers write batches of several records (3 partitions written 5000 records in flight at once reported
    4983; every record could still be read), so a phase waiting for an end offset never saw its last records.
    """
    consumer = await _reader(kafka, topic)
    try:
        count = 0
        while batches := await consumer.getmany(timeout_ms=IDLE_MS):
            count += sum(len(records) for records in batches.values())
        return count
    finally:
        await consumer.stop()


async def _reader(kafka: KafkaSettings, topic: str) -> AIOKafkaConsumer:
    """A consumer (no group) on every partition of ``topic``, from the beginning."""
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(), enable_auto_commit=False, fetch_max_wait_ms=kafka.fetch_max_wait_ms
    )
    await consumer.start()
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # a topic created since the consumer started
        partitions = consumer.partitions_for_topic(topic)
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions or ())])
    await consumer.seek_to_beginning()
    return consumer


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
    """Read ``topic`` as it grows until it holds ``target`` more records than ``base`` (or the timeout); when a
    record is seen is when a fetch returned it (fetches wait at most ``fetch_max_wait_ms``)."""
    consumer = await _reader(kafka, topic)
    started = time.monotonic()
    first_at, first_count, count = None, 0, 0
    shown = ProgressLine(f"{topic}: new records", total=target)
    try:
        while time.monotonic() - started < timeout_s:
            batches = await consumer.getmany(timeout_ms=round(POLL_S * 1000))
            count += sum(len(records) for records in batches.values())
            now = time.monotonic()
            grown = count - base
            shown.update(max(0, grown))
            if grown > 0 and first_at is None:
                first_at, first_count = now, grown
            if grown >= target:
                return Progress(target, started, first_at, first_count, now, grown)
        return Progress(target, started, first_at, first_count, None, count - base)
    finally:
        shown.close()
        await consumer.stop()


@dataclass(frozen=True)
class Arrival:
    """A result read from the results topic, and when it arrived (``time.monotonic``)."""

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
        """Connect (so nothing published from now on is missed), then read in the background until ``stop``."""
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
        """Stop reading; the arrivals kept so far stay. Does nothing if it was never started."""
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
