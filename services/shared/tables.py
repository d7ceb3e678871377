"""A global table: a compacted Kafka topic that every replica reads whole and keeps following, like a Kafka Streams
``GlobalKTable``. State that each replica needs entire (the silences; the firing alerts inhibition looks at and the
Alertmanager API lists) lives in one, so every replica of ingest and of the webhook answers alike, whatever
partition a record landed on, and it survives restarts: a starting replica reads the topic from its beginning.

Writes go to Kafka first (acks=all) and are applied to this replica's copy once acknowledged, so a replica reads its
own writes at once; every other replica sees them when its follower reads them (tens of milliseconds). The topic is
created compacted (Apache Kafka keeps the latest value per key; a ``None`` value deletes the key). The embedded Tansu
broker does not compact and keeps everything in memory, so its rebuild reads every write since the broker started;
``decode`` may drop values past their use (a resolved alert, an expired silence) so that memory does not grow with
them.

A value that cannot be decoded is logged and skipped: a bad record in a table must never stop a replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.shared.backoff import Backoff, is_permanent, with_backoff
from services.shared.kafka import KafkaSettings
from services.shared.memory_table import MemoryTable

log = logging.getLogger(__name__)
V = TypeVar("V")
#: Apache Kafka keeps the latest value per key; a ``None`` value (tombstone) deletes the key.
COMPACTED = {"cleanup.policy": "compact"}
#: How long one fetch of the follower waits for new records.
FOLLOW_WAIT_MS = 200
#: How long ``start`` waits for the first full read before the replica serves anyway (and logs that it did).
CATCH_UP_S = 30.0


class GlobalTable(MemoryTable[V]):
    """The latest decoded value per key of a compacted topic, read whole and followed; ``put`` writes through."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        decode: Callable[[bytes, bytes], V | None],
        *,
        partitions: int = 1,
        backoff: Backoff | None = None,
        on_change: Callable[[bytes, V | None], None] | None = None,
    ) -> None:
        """``decode(key, value)`` gives the value to keep, or None to forget the key (a value past its use).
        ``partitions``: how many the topic gets when this creates it. ``on_change(key, value)`` is called on every
        change this replica applies (its own writes and those it follows)."""
        super().__init__(decode, on_change)
        self._kafka, self._topic, self._partitions = kafka, topic, partitions
        self._backoff = backoff or Backoff()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._follower: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()

    @property
    def topic(self) -> str:
        """The compacted topic this table reads."""
        return self._topic

    @property
    def ready(self) -> bool:
        """Whether the first full read of the topic is done (before it, the table may miss rows)."""
        return self._caught_up.is_set()

    async def start(self, wait_s: float = CATCH_UP_S) -> None:
        """Create the topic when missing, read it to its end (at most ``wait_s``), then follow it."""
        if self._follower is not None:
            return
        await with_backoff(self._ensure_topic, f"creating table topic {self._topic}", self._backoff)
        producer = AIOKafkaProducer(
            **self._kafka.client_kwargs(), acks="all", max_request_size=self._kafka.max_message_bytes
        )
        await producer.start()
        self._producer = producer
        consumer = AIOKafkaConsumer(
            **self._kafka.client_kwargs(), enable_auto_commit=False, fetch_max_wait_ms=FOLLOW_WAIT_MS
        )
        await consumer.start()
        self._consumer = consumer
        self._follower = asyncio.create_task(self._follow(consumer), name=f"table-{self._topic}")
        try:
            await asyncio.wait_for(asyncio.shield(self._caught_up.wait()), wait_s)
        except TimeoutError:
            log.warning("table %s: not read to its end within %.0fs; serving what was read", self._topic, wait_s)

    async def stop(self) -> None:
        """Stop following and close the clients."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()
        self._consumer = self._producer = None

    async def put(self, key: bytes, value: bytes | None) -> None:
        """Write ``value`` (None: delete) at ``key`` and wait for Kafka's acknowledgement, then apply it here;
        ``ValueError`` when Kafka refuses it for good (too large)."""
        if await self.put_many([(key, value)]):
            raise ValueError(f"Kafka refused the row for good (table {self._topic}): too large")

    async def put_many(self, rows: Sequence[tuple[bytes, bytes | None]]) -> list[bytes]:
        """Write every row (sent together, then every acknowledgement awaited: a batch costs one round trip, not
        one per row) and apply them here once all are durable; returns the keys of the rows Kafka refused for good
        (too large: ``services.shared.backoff.is_permanent``), which are logged and left out, since retrying would
        refuse them again and stall the caller. Retried with backoff; raises ``GaveUp`` when Kafka stays
        unavailable (a row written twice is still its key's latest)."""
        if self._producer is None:
            raise RuntimeError(f"table {self._topic} is not started")
        refused: dict[int, BaseException] = {}

        async def attempt() -> None:
            await self._send_all(rows, refused)

        if rows:
            await with_backoff(attempt, f"writing {len(rows)} rows to table {self._topic}", self._backoff)
        for index, (key, value) in enumerate(rows):
            if index in refused:
                log.error("table %s: Kafka refused a row for good (%d-byte key): %r", self._topic, len(key),
                          refused[index])  # fmt: skip
            else:
                self._apply(key, value)
        return [rows[index][0] for index in sorted(refused)]

    async def _send_all(self, rows: Sequence[tuple[bytes, bytes | None]], refused: dict[int, BaseException]) -> None:
        """One attempt: send every row not refused yet, await all; permanent refusals go in ``refused``, the first
        transient failure is raised (all are sent again)."""
        producer = self._producer
        assert producer is not None  # checked by ``put_many``
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        for index, (key, value) in enumerate(rows):
            if index in refused:
                continue
            try:
                sent.append((index, await producer.send(self._topic, value, key=key)))
            except Exception as error:
                if not is_permanent(error):
                    raise
                refused[index] = error
        outcomes = await asyncio.gather(*(future for _, future in sent), return_exceptions=True)
        for (index, _), outcome in zip(sent, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not is_permanent(outcome):
                    raise outcome
                refused[index] = outcome

    async def _ensure_topic(self) -> None:
        admin = AIOKafkaAdminClient(**self._kafka.client_kwargs())
        await admin.start()
        try:
            # Another replica may create it between our look and our create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                if self._topic not in await admin.list_topics():
                    await admin.create_topics([NewTopic(self._topic, self._partitions, 1, topic_configs=COMPACTED)])
        finally:
            await admin.close()

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        """Read every partition from its beginning, then keep reading; set ``ready`` once the first read found no
        more records (past the end offsets seen at start: Tansu may report end offsets below what it holds)."""
        while True:
            try:
                await self._read_forever(consumer)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The broker went away (a restart of the embedded one): read the topic again from its beginning.
                log.exception("table %s: following failed; reading it again from the start", self._topic)
                await asyncio.sleep(1.0)

    async def _read_forever(self, consumer: AIOKafkaConsumer) -> None:
        partitions: set[int] | None = None
        while not partitions:
            await consumer.topics()  # refreshes the metadata
            partitions = consumer.partitions_for_topic(self._topic)
            if not partitions:
                await asyncio.sleep(0.2)
        assigned = [TopicPartition(self._topic, partition) for partition in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        while True:
            batches = await consumer.getmany(*assigned, timeout_ms=FOLLOW_WAIT_MS)
            for records in batches.values():
                for record in records:
                    if record.key is not None:
                        self._apply(record.key, record.value)
            if not batches and not self._caught_up.is_set():
                positions = [await consumer.position(tp) for tp in assigned]
                if all(position >= ends[tp] for position, tp in zip(positions, assigned, strict=True)):
                    self._caught_up.set()
