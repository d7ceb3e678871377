"""Noise control between the pipeline and Kafka: the dedup window (``dedup``) and grouping (``grouping``), with
their state kept in a compacted Kafka topic (``state_log``) so it survives restarts and moves with partitions.

Consistency across replicas comes from Kafka's partition ownership: the state of an alert lives with the raw
partition the alert arrived on, and only the replica consuming that partition reads or writes it. The webhook
bridge keys every raw record by its source, so all alerts of one source (hence every (source, fingerprint) and
every group of a source) share one partition and one owner. A Kafka producer that does not key its records, or
keys them otherwise, spreads one fingerprint over several partitions: dedup and grouping then hold per partition
(a repeat landing on another partition passes; a group may flush once per partition). Key records by source or
fingerprint to get one trigger across the topic.

Order of the durable steps for a batch: triggers and dead letters first (``Emitter``), then the state entries,
then (FastStream) the offset commit. A crash before the state is written replays the batch and re-sends the same
triggers (same idempotency keys: Temporal starts each workflow once); a crash after it replays the batch against
state that already counts it, so nothing is sent twice and nothing is lost. When writing fails, the in-memory
state of the batch's partitions is dropped and read back from the topic, since it may count triggers never sent.

Pending groups are flushed by a timer task of the consumer's process (every ``group_tick_s``), never inside a
record's handling: flushing writes the group trigger, then the group's new state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime

import orjson
from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from schemas.trigger import WorkflowTrigger
from services.ingest.config import IngestSettings
from services.ingest.emitter import Emitter
from services.ingest.noise import dedup
from services.ingest.noise.grouping import Group, Groups, alert_parts, group_key, group_triggers
from services.ingest.noise.state_log import Entry, StateLog
from services.ingest.pipeline import PUBLISH_STAGE, SERVICE, Outcome
from services.ingest.routing import RoutingTable
from services.shared import metrics
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetters, Outgoing, Publisher, publish_all_durably
from services.shared.deadletter import ConsumedRecord
from services.shared.kafka import record_size

log = logging.getLogger("services.ingest")
Batch = Sequence[tuple[ConsumedRecord, Outcome]]


def now_ms() -> float:
    """The wall clock in milliseconds since the epoch (the time dedup windows and groups are kept in)."""
    return time.time() * 1000


def fits(trigger: WorkflowTrigger, max_bytes: int) -> bool:
    """Whether the trigger can be written as one record of at most ``max_bytes``."""
    key = trigger.data.idempotency_key.encode("utf-8")
    return record_size(key, trigger.to_json(), trigger.kafka_headers()) <= max_bytes


class NoiseControl:
    """Filters each batch's triggers through the dedup window and grouping, and flushes due groups."""

    def __init__(
        self,
        *,
        emitter: Emitter,
        triggers: Publisher,
        dead_letters: DeadLetters,
        state: StateLog,
        routing: Callable[[], RoutingTable],
        window_s: float,
        max_alerts: int,
        max_bytes: int,
        backoff: Backoff,
        tick_s: float,
    ) -> None:
        self._emitter, self._triggers, self._dead_letters, self._state = emitter, triggers, dead_letters, state
        # The rules in force now (the routing file may be reloaded while ingest runs).
        self._routing, self._max_bytes, self._backoff = routing, max_bytes, backoff
        self._dedup = dedup.DedupWindow(window_s)
        self._groups = Groups(max_alerts)
        self._tick_s = tick_s
        self._lock = asyncio.Lock()
        self._loaded: set[int] = set()
        self._assigned: set[int] = set()
        self._timer: asyncio.Task[None] | None = None
        self.listener = _Listener(self)

    @property
    def raw_topic(self) -> str:
        """The raw topic whose partitions the noise state follows."""
        return self._state.raw_topic

    @property
    def enabled(self) -> bool:
        """Whether anything is filtered: without dedup or a grouping route, batches go straight to the emitter."""
        return self._dedup.enabled or self._routing().grouping

    async def emit_batch(self, batch: Batch) -> Batch:
        """Write what the batch gives after dedup and grouping; returns, once it and its state are durable, each
        record's outcome as written (what noise control kept back is in ``Outcome.held``)."""
        if not self.enabled:
            await self._emitter.emit_batch(batch)
            return batch
        partitions = {_partition(record) for record, _ in batch}
        async with self._lock:
            for partition in partitions - self._loaded:
                await self._load(partition)
            kept, entries = self._filter(batch)
            try:
                await self._emitter.emit_batch(kept)
                await self._state.write(entries)
            except BaseException:
                for partition in partitions:
                    self._unload(partition)  # memory may count what was never written: read it back next time
                raise
        return kept

    def _filter(self, batch: Batch) -> tuple[list[tuple[ConsumedRecord, Outcome]], list[Entry]]:
        kept: list[tuple[ConsumedRecord, Outcome]] = []
        # The latest entry per key: a group filling within one batch is written once, not once per alert.
        entries: dict[bytes, Entry] = {}
        dropped = grouped = 0
        routing = self._routing()
        for record, outcome in batch:
            partition, at_ms = _partition(record), record.received_at.timestamp() * 1000
            passing, held = [], []
            for ready in outcome.triggers:
                data = ready.event.data
                if self._dedup.enabled:
                    seen = self._dedup.admit(partition, data.route, data.alert, at_ms)
                    if seen is None:
                        dropped += 1
                        held.append((ready, f"a repeat within the dedup window of route {data.route}"))
                        continue
                    key = self._state.key(partition, *dedup.entry_key(data.route, data.alert))
                    entries[orjson.dumps(key)] = Entry(partition, key, dedup.entry_value(seen))
                route = routing.by_name.get(data.route) if routing.grouping else None
                if route is not None and route.group_by:
                    parts, group = self._groups.add(partition, route, data.alert, at_ms)
                    key = self._state.key(partition, *parts)
                    entries[orjson.dumps(key)] = Entry(partition, key, group.value())
                    key = self._state.key(partition, *alert_parts(parts, data.alert.fingerprint))
                    entries[orjson.dumps(key)] = Entry(partition, key, ready.body)
                    grouped += 1
                    held.append((ready, f"held in a group, flushed as {group_key(group, partition)}"))
                    continue
                passing.append(ready)
            kept.append((record, dataclasses.replace(outcome, triggers=passing, held=held)))
        if dropped or grouped:
            log.info("noise control: %d repeats dropped (dedup window), %d alerts held in groups", dropped, grouped)
        return kept, list(entries.values())

    async def _load(self, partition: int) -> None:
        entries = await self._state.read(partition)
        now = now_ms()
        self._dedup.restore(partition, entries, now)
        self._groups.restore(partition, entries, now)
        self._loaded.add(partition)

    def _unload(self, partition: int) -> None:
        self._dedup.forget(partition)
        self._groups.forget(partition)
        self._loaded.discard(partition)

    def assigned(self, partitions: Collection[int]) -> None:
        """The consumer got these raw partitions: their pending groups are read back by the next flush."""
        self._assigned |= set(partitions)

    def revoked(self, partitions: Collection[int]) -> None:
        """The consumer lost these raw partitions: their state is another replica's now."""
        for partition in partitions:
            self._assigned.discard(partition)
            self._unload(partition)

    async def flush_due(self) -> int:
        """Flush every group whose time has come; the number of triggers written."""
        async with self._lock:
            for partition in self._assigned - self._loaded:
                await self._load(partition)
            now = now_ms()
            due = self._groups.due(now)
            written = await self._flush(due) if due else 0
            gone = self._groups.expire(now)
            self._dedup.expire(now)
            # Forgotten groups: a tombstone each, so a compacted topic forgets them too.
            await self._state.write([Entry(p, self._state.key(p, *parts), None) for p, parts in gone])
            return written

    async def _flush(self, due: list[tuple[int, tuple[str, str, str], Group]]) -> int:
        built = [
            (partition, trigger)
            for partition, _, group in due
            for trigger in group_triggers(partition, group, self._max_bytes, fits, self._groups.max_alerts)
        ]
        outgoing = [
            Outgoing(
                t.data.idempotency_key.encode("utf-8"),
                t.to_json(),
                t.kafka_headers(),
                f"group trigger {t.data.idempotency_key}",
            )
            for _, t in built
        ]
        refused = await publish_all_durably(self._triggers, outgoing, self._backoff, service=SERVICE)
        for (partition, trigger), message, error in zip(built, outgoing, refused, strict=True):
            if error is None:
                metrics.count_trigger(trigger.data.route, trigger.data.workflow)
            else:
                # Only a group of one alert is this large (larger ones are split): keep its trace.
                record = ConsumedRecord(message.body, {}, self._state.raw_topic, datetime.now(UTC), partition)
                reason = f"Kafka refused group trigger {trigger.data.idempotency_key}: {error!r}"
                await self._dead_letters.write(record, PUBLISH_STAGE, reason, correlationid=trigger.correlationid)
        entries = []
        for partition, parts, group in due:
            value = group.value() | {"flush_at_ms": None, "last_flush_ms": group.flush_at_ms}
            entries.append(Entry(partition, self._state.key(partition, *parts), value))
            # The flushed alerts' entries are deleted (tombstones): they are in the trigger now.
            entries.extend(
                Entry(partition, self._state.key(partition, *alert_parts(parts, fingerprint)), None)
                for fingerprint in group.alerts
            )
        await self._state.write(entries)
        for _, _, group in due:  # durable: now memory may say so
            group.last_flush_ms, group.flush_at_ms = group.flush_at_ms, None
            group.alerts.clear()
        log.info("noise control: %d groups flushed as %d triggers", len(due), len(built))
        return len(built)

    async def start(self) -> None:
        """Start the flush timer. It costs one wake-up per tick when no route groups; a reloaded routing file
        may add grouping at any time."""
        if self._timer is None:
            self._timer = asyncio.create_task(self._tick(), name="ingest-group-flush")

    async def stop(self) -> None:
        """Stop the flush timer and close the state log (groups still pending stay in the state topic)."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self._state.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                await self.flush_due()
            except Exception:
                # Kafka unavailable past the retry budget: the groups stay pending and the next tick tries again.
                log.exception("flushing due groups failed; retrying on the next tick")


def _partition(record: ConsumedRecord) -> int:
    return record.partition if record.partition is not None else 0


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells ``NoiseControl`` which raw partitions this replica owns."""

    def __init__(self, noise: NoiseControl) -> None:
        self._noise = noise

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self._noise.revoked([tp.partition for tp in revoked if tp.topic == self._noise.raw_topic])

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self._noise.assigned([tp.partition for tp in assigned if tp.topic == self._noise.raw_topic])


def noise_control(
    settings: IngestSettings,
    routing: Callable[[], RoutingTable],
    emitter: Emitter,
    triggers: Publisher,
    dead_letters: DeadLetters,
    backoff: Backoff,
) -> NoiseControl:
    """Noise control as the settings and routing file ask for it (a pass-through when neither dedup nor any
    route's grouping is on)."""
    return NoiseControl(
        emitter=emitter,
        triggers=triggers,
        dead_letters=dead_letters,
        state=StateLog(settings.kafka, settings.topics.ingest_state, settings.topics.raw, backoff),
        routing=routing,
        window_s=settings.dedup_window_s,
        max_alerts=settings.group_max_alerts,
        max_bytes=settings.kafka.max_message_bytes,
        backoff=backoff,
        tick_s=settings.group_tick_s,
    )
