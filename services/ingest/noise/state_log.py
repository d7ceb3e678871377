"""Ingest's noise-control state on Kafka: a compacted topic, written before each commit, read back per partition.

Why a Kafka topic rather than a database or local files: ingest already depends on Kafka only, and the state
belongs to a *raw partition* (whoever consumes raw partition ``p`` owns the dedup entries and pending groups of the
alerts in it), which is exactly Kafka Streams' changelog pattern. Every entry is written to state partition
``p % n`` with a key naming the raw topic and partition, so the replica that is assigned raw partition ``p`` (after
a restart or a rebalance) reads one state partition from its start and keeps the latest value per key. Entries of
other raw topics or partitions that share it are skipped.

The topic is created with ``cleanup.policy=compact`` so Apache Kafka keeps only the latest value per key. The
embedded Tansu broker accepts that setting but does not compact (and keeps everything in memory), so the rebuild
is bounded by the state written since the broker started; entries past their use are dropped while reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.ingest.pipeline import SERVICE
from services.shared import metrics
from services.shared.backoff import Backoff, is_permanent, with_backoff
from services.shared.kafka import KafkaSettings, record_size

log = logging.getLogger(__name__)
#: Apache Kafka keeps the latest value per key; a ``None`` value (tombstone) deletes the key.
COMPACTED = {"cleanup.policy": "compact"}
#: How long a rebuild waits for more state records once none came (see ``read``).
READ_IDLE_MS = 200


@dataclass(frozen=True)
class Entry:
    """One state change: ``key`` (a JSON array beginning with the raw topic and partition) and its new value (a
    JSON object, or one already serialized), or ``None`` to forget the key."""

    partition: int
    key: list[Any]
    value: dict[str, Any] | bytes | None


class StateLog:
    """Writes entries durably (acks=all) and reads back the latest entry per key of one raw partition."""

    def __init__(self, kafka: KafkaSettings, topic: str, raw_topic: str, backoff: Backoff) -> None:
        self._kafka, self._topic, self._raw_topic, self._backoff = kafka, topic, raw_topic, backoff
        self._partitions = 0
        self._producer: AIOKafkaProducer | None = None

    @property
    def raw_topic(self) -> str:
        """The raw topic whose partitions this log's entries are kept per."""
        return self._raw_topic

    async def open(self) -> None:
        """Create the state topic when it is missing (as many partitions as the raw topic) and start a producer."""
        if self._producer is not None:
            return
        self._partitions = await self._ensure_topic()
        producer = AIOKafkaProducer(
            **self._kafka.client_kwargs(), acks="all", max_request_size=self._kafka.max_message_bytes
        )
        await producer.start()
        self._producer = producer

    async def close(self) -> None:
        """Flush and stop the producer; ``open`` may start it again."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _ensure_topic(self) -> int:
        consumer = AIOKafkaConsumer(**self._kafka.client_kwargs(), enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()
            state = consumer.partitions_for_topic(self._topic)
            if state:
                return len(state)
            raw = consumer.partitions_for_topic(self._raw_topic)
        finally:
            await consumer.stop()
        count = len(raw) if raw else 1
        admin = AIOKafkaAdminClient(**self._kafka.client_kwargs())
        await admin.start()
        try:
            # Another replica may create it between our look and our create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(self._topic, count, 1, topic_configs=COMPACTED)])
        finally:
            await admin.close()
        log.info("created state topic %s (%d partitions, compacted)", self._topic, count)
        return count

    def key(self, partition: int, *parts: Any) -> list[Any]:
        """An entry key: the raw topic and partition it belongs to, then ``parts``."""
        return [self._raw_topic, partition, *parts]

    async def write(self, entries: Sequence[Entry]) -> list[tuple[Entry, BaseException]]:
        """Write every entry and wait for all acknowledgements; returns the entries Kafka refused for good (too
        large, ``services.shared.backoff.is_permanent``) with why: retrying them cannot help, so the caller
        decides what becomes of what they held. Raises ``GaveUp`` when Kafka stays unavailable."""
        if not entries:
            return []
        await self.open()
        refused: dict[int, BaseException] = {}

        async def attempt() -> None:
            await self._send_all(entries, refused)

        def retried() -> None:
            metrics.count_publish_retry(SERVICE, self._topic)

        await with_backoff(attempt, f"writing {len(entries)} ingest state entries", self._backoff, on_retry=retried)
        return [(entries[index], error) for index, error in sorted(refused.items())]

    async def _send_all(self, entries: Sequence[Entry], refused: dict[int, BaseException]) -> None:
        """One attempt: send every entry not refused yet, await all; permanent refusals go in ``refused``, the
        first transient failure is raised (all are sent again: a value written twice is still its key's latest)."""
        producer = self._producer
        assert producer is not None  # opened by ``write``
        # As many partitions as the topic has now: a restarted embedded broker starts empty, and the topic comes
        # back (auto-created on this write) with its default count.
        self._partitions = len(await producer.partitions_for(self._topic))
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        for index, entry in enumerate(entries):
            if index in refused:
                continue
            try:
                key, partition = orjson.dumps(entry.key), entry.partition % self._partitions
                sent.append(
                    (index, await producer.send(self._topic, encoded(entry.value), key=key, partition=partition))
                )
            except Exception as error:
                if not is_permanent(error):
                    raise
                refused[index] = error
        outcomes = await asyncio.gather(*(future for _, future in sent), return_exceptions=True)
        transient: Exception | None = None
        for (index, _), outcome in zip(sent, outcomes, strict=True):
            if isinstance(outcome, BaseException) and is_permanent(outcome):
                refused[index] = outcome
            elif isinstance(outcome, Exception):
                transient = outcome
            elif isinstance(outcome, BaseException):
                raise outcome
        if transient is not None:
            raise transient

    @staticmethod
    def entry_size(entry: Entry) -> int:
        """The size the producer measures the entry's record at (refused above ``KAFKA_MAX_MESSAGE_BYTES``)."""
        return record_size(orjson.dumps(entry.key), encoded(entry.value) or b"", {})

    async def read(self, partition: int) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The latest value per key of raw partition ``partition``, read from the start of its state partition to
        its end (tombstoned keys left out)."""
        await self.open()
        assert self._producer is not None  # opened above
        self._partitions = len(await self._producer.partitions_for(self._topic))
        latest: dict[tuple[Any, ...], dict[str, Any] | None] = {}
        consumer = AIOKafkaConsumer(
            **self._kafka.client_kwargs(), enable_auto_commit=False, fetch_max_wait_ms=self._kafka.fetch_max_wait_ms
        )
        await consumer.start()
        try:
            where = TopicPartition(self._topic, partition % self._partitions)
            consumer.assign([where])
            await consumer.seek_to_beginning(where)
            end = (await consumer.end_offsets([where]))[where]
            # Past the end offset, read on until a fetch comes back empty: the embedded Tansu broker reports end
            # offsets below the records it holds once several were written in one batch.
            while (batches := await consumer.getmany(where, timeout_ms=READ_IDLE_MS)) or (
                await consumer.position(where) < end
            ):
                for record in batches.get(where, []):
                    if record.key is None:
                        continue
                    key = tuple(orjson.loads(record.key))
                    if key[:2] != (self._raw_topic, partition):
                        continue  # another raw topic or partition shares this state partition
                    latest[key[2:]] = None if record.value is None else orjson.loads(record.value)
        finally:
            await consumer.stop()
        return {key: value for key, value in latest.items() if value is not None}


def encoded(value: dict[str, Any] | bytes | None) -> bytes | None:
    """An entry's value as written: JSON, bytes as they are, ``None`` a tombstone."""
    return value if value is None or isinstance(value, bytes) else orjson.dumps(value)
