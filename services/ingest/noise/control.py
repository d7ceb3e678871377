"""Noise control, ingest's stage 2 between the routed topic and the triggers: gates before dedup (the route's time
windows and threshold, silences and inhibition: ``muting``, ``counting``, ``holds``), then the dedup window
(``dedup``) and grouping (``grouping``), with their state kept in a compacted Kafka topic (``state_log``) so it
survives restarts and moves with partitions.

Consistency across replicas comes from Kafka's partition ownership: stage 1 keys every routed record by the state
it touches (``services.ingest.rekey``: the alert's source and fingerprint, or its group), so every repeat of an
alert, its resolution and every member of a group land on one routed partition, and only the replica consuming
that partition reads or writes their state, whatever partition or replica their raw records came through.
What every replica needs whole (silences, the firing alerts inhibition looks at) is in global tables instead
(``services.shared.tables``).

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
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from schemas.alert import Alert
from schemas.trigger import WorkflowTrigger
from services.ingest.config import IngestSettings
from services.ingest.emitter import Emitter
from services.ingest.noise import dedup
from services.ingest.noise.gates import DEFAULT_MAX_HOLDS, Gates
from services.ingest.noise.grouping import (
    DEFAULT_MAX_GROUPS,
    KIND,
    Group,
    Groups,
    alert_parts,
    group_header_value,
    group_key,
    group_of,
    group_triggers,
    lone_trigger,
    member,
)
from services.ingest.noise.holds import Holds
from services.ingest.noise.muting import Muting
from services.ingest.noise.state_log import Entry, StateLog
from services.ingest.pipeline import (
    NOISE_STAGE,
    PUBLISH_STAGE,
    SERVICE,
    SURELY_DECODABLE_BRACKETS,
    Failure,
    Outcome,
    ReadyTrigger,
    dead_letter_cause,
    undecodable,
)
from services.ingest.routing import Route, RoutingTable
from services.shared import metrics
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetterOrder, DeadLetters, Outgoing, Publisher, publish_all_durably
from services.shared.deadletter import ConsumedRecord
from services.shared.kafka import record_size
from services.shared.silences import Silences
from services.shared.tracing import dead_letter_headers

log = logging.getLogger("services.ingest")
Batch = Sequence[tuple[ConsumedRecord, Outcome]]
#: A group trigger's bytes besides its alerts (ids, key, route, inputs are in the alert's trigger too): a trigger
#: body at most half the limit, less this, is surely small enough to group (see ``NoiseControl._unwritable``).
_ENVELOPE_BYTES = 4096
#: How many levels deeper a group trigger nests an alert than the alert's own trigger does (with a margin).
_GROUP_LEVELS = 8


#: How ``Outcome.held`` notes begin: a repeat the dedup window dropped, or an alert held in a group until its flush.
REPEAT_NOTE = "a repeat within the dedup window"
GROUP_NOTE = "held in group"


def group_note(group: Group, partition: int) -> str:
    """``held in group <group key> until <flush time>``: the note of an alert held in ``group``."""
    assert group.flush_at_ms is not None
    until = datetime.fromtimestamp(group.flush_at_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return f"{GROUP_NOTE} {group_key(group, partition)} until {until.replace('+00:00', 'Z')}"


def now_ms() -> float:
    """The wall clock in milliseconds since the epoch (the time dedup windows and groups are kept in)."""
    return time.time() * 1000


def fits(trigger: WorkflowTrigger, max_bytes: int) -> bool:
    """Whether the trigger can be written as one record of at most ``max_bytes``."""
    key = trigger.data.idempotency_key.encode("utf-8")
    return record_size(key, trigger.to_json(), trigger.kafka_headers()) <= max_bytes


@dataclasses.dataclass(frozen=True)
class _Holder:
    """A trigger whose noise state one entry holds: record ``index`` of the batch, and the grouping route that held
    it (None: its dedup entry), so a refused entry can be undone and its alert dead-lettered."""

    index: int
    ready: ReadyTrigger
    partition: int
    route: Route | None


@dataclasses.dataclass
class _Filtered:
    """What noise control made of a batch: each record's outcome, the state entries to write, who they hold."""

    kept: list[tuple[ConsumedRecord, Outcome]]
    entries: dict[bytes, Entry] = dataclasses.field(default_factory=dict)
    holders: dict[bytes, list[_Holder]] = dataclasses.field(default_factory=dict)

    def put(self, entry: Entry, holder: _Holder | None = None) -> None:
        """The latest entry per key (a group filling within one batch is written once, not once per alert)."""
        key = orjson.dumps(entry.key)
        self.entries[key] = entry
        if holder is not None:
            self.holders.setdefault(key, []).append(holder)


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
        muting: Muting,
        max_dedup_entries: int = dedup.DEFAULT_MAX_ENTRIES,
        max_groups: int = DEFAULT_MAX_GROUPS,
        max_holds: int = DEFAULT_MAX_HOLDS,
    ) -> None:
        self._emitter, self._triggers, self._dead_letters, self._state = emitter, triggers, dead_letters, state
        self._gates = Gates(muting, state.key, max_holds)
        # The rules in force now (the routing file may be reloaded while ingest runs).
        self._routing, self._max_bytes, self._backoff = routing, max_bytes, backoff
        self._dedup = dedup.DedupWindow(window_s, max_dedup_entries)
        self._groups = Groups(max_alerts, max_groups)
        self._tick_s = tick_s
        self._lock = asyncio.Lock()
        self._loaded: set[int] = set()
        self._assigned: set[int] = set()
        self._timer: asyncio.Task[None] | None = None
        self.listener = _Listener(self)

    @property
    def raw_topic(self) -> str:
        """The topic whose partitions the noise state follows (the routed topic)."""
        return self._state.raw_topic

    @property
    def enabled(self) -> bool:
        """Whether anything is filtered: without dedup, grouping, thresholds, time windows, silences or inhibition,
        batches go straight to the emitter."""
        routing = self._routing()
        return self._dedup.enabled or routing.grouping or self._gates.active(routing)

    @property
    def holds(self) -> Holds:
        """The muted alerts held until their silence or inhibition ends."""
        return self._gates.holds

    async def emit_batch(self, batch: Batch) -> Batch:
        """Write what the batch gives after dedup and grouping; returns, once it and its state are durable, each
        record's outcome as written (what noise control kept back is in ``Outcome.held``).

        An alert whose state cannot be written (an entry or its group's trigger over the record size limit, found
        before anything is written; or an entry Kafka refuses for good) is dead-lettered (stage ``noise``) and
        the batch goes on: retrying would refuse it again, and the partition would stall.
        """
        if not self.enabled:
            await self._emitter.emit_batch(batch)
            return batch
        partitions = {_partition(record) for record, _ in batch}
        async with self._lock:
            for partition in partitions - self._loaded:
                await self._load(partition)
            filtered = self._filter(batch)
            try:
                await self._emitter.emit_batch(filtered.kept)
                refused = await self._state.write(list(filtered.entries.values()))
                if refused:
                    await self._refused(filtered, refused)
            except BaseException:
                for partition in partitions:
                    self._unload(partition)  # memory may count what was never written: read it back next time
                raise
        return filtered.kept

    def decide(self, batch: Batch) -> Batch:
        """What ``emit_batch`` would make of the batch, decided in memory only: each record's outcome with what
        noise control keeps back (``Outcome.held``), remembered for the next batch, but nothing written (no
        trigger, no state entry). For previews (``alertmesh route``), whose noise control has nothing to write to."""
        return self._filter(batch).kept

    def pending_groups(self) -> list[tuple[str, Group]]:
        """Every group holding alerts, with the idempotency key of the trigger its next flush will write."""
        return [(group_key(group, partition), group) for partition, _, group in self._groups.due(float("inf"))]

    def _filter(self, batch: Batch, released: bool = False) -> _Filtered:
        """Each trigger through the gates (``_admit``: time windows, thresholds, silences and inhibition; skipped
        for ``released`` holds, which passed them when they came), then dedup and grouping (``_hold``)."""
        filtered = _Filtered(kept=[])
        counts = dict.fromkeys(("passed", "dropped", "grouped", "ungrouped", "muted", "held", "counted"), 0)
        routing = self._routing()
        now = now_ms()
        for index, (record, outcome) in enumerate(batch):
            # Record time, so a record read again gets the same decision; never past now: a producer's clock in the
            # future (up to year 9999) would open a dedup window or a group_wait that never ends.
            partition, at_ms = _partition(record), min(record.received_at.timestamp() * 1000, now)
            passing: list[ReadyTrigger] = []
            held: list[tuple[ReadyTrigger, str]] = []
            failures = list(outcome.failures)
            for ready in outcome.triggers:
                route = routing.by_name.get(ready.event.data.route)
                gate = (
                    None if released else self._gates.admit(filtered.put, partition, route, ready, at_ms, record.offset)
                )
                if gate is not None:
                    counts[gate[0]] += 1
                    held.append((ready, gate[1]))
                    continue
                grouping = route if route is not None and route.group_by else None
                refusal = self._unwritable(partition, grouping, ready, at_ms) if grouping is not None else None
                if refusal is not None:
                    failures.append(ready.failure(NOISE_STAGE, refusal))  # naming its alert of a group
                    continue
                what = self._hold(filtered, index, partition, grouping, ready, at_ms)
                counts[what[0]] += 1
                if what[1] is None:
                    passing.append(ready)
                else:
                    held.append((ready, what[1]))
            filtered.kept.append((record, dataclasses.replace(outcome, triggers=passing, held=held, failures=failures)))
        self._evictions(filtered)
        if any(count for what, count in counts.items() if what != "passed"):
            log.info(
                "noise control: %d repeats dropped (dedup window), %d alerts held in groups, %d not grouped (every "
                "group of their partition pending; INGEST_GROUP_MAX_GROUPS), %d below their route's threshold, "
                "%d muted and dropped (time windows, or resolved while silenced or inhibited), %d silenced or "
                "inhibited and held",
                counts["dropped"], counts["grouped"], counts["ungrouped"], counts["counted"], counts["muted"],
                counts["held"],
            )  # fmt: skip
        return filtered

    def _hold(
        self, filtered: _Filtered, index: int, partition: int, grouping: Route | None, ready: ReadyTrigger, at_ms: float
    ) -> tuple[str, str | None]:
        """Put one trigger through dedup and grouping: what happened (a ``_filter`` count) and, when it is kept
        back, why (None: it goes out)."""
        data = ready.event.data
        if self._dedup.enabled:
            seen = self._dedup.admit(partition, data.route, data.alert, at_ms)
            if seen is None:
                return "dropped", f"{REPEAT_NOTE} of route {data.route}"
            key = self._state.key(partition, *dedup.entry_key(data.route, data.alert))
            filtered.put(Entry(partition, key, dedup.entry_value(seen)), _Holder(index, ready, partition, None))
        if grouping is None:
            return "passed", None
        if not self._groups.has_room(partition, grouping, data.alert, at_ms):
            metrics.count_noise_evictions("group_overflow")
            return "ungrouped", None
        parts, group = self._groups.add(partition, grouping, data.alert, at_ms)
        holder = _Holder(index, ready, partition, grouping)
        filtered.put(Entry(partition, self._state.key(partition, *parts), group.value()), holder)
        name = alert_parts(parts, member(grouping, data.alert))
        filtered.put(Entry(partition, self._state.key(partition, *name), ready.body), holder)
        return "grouped", group_note(group, partition)

    def _unwritable(self, partition: int, route: Route, ready: ReadyTrigger, at_ms: float) -> str | None:
        """Why grouping cannot hold this trigger's alert (None when it can): its state entries, or the trigger of a
        group holding it alone, would be over the record size limit. Small alerts are waved through on their size
        (an entry is at most its trigger's body and a few hundred bytes; a group of one carries the alert twice)."""
        small = 2 * len(ready.body) + _ENVELOPE_BYTES <= self._max_bytes
        # A group trigger nests the alert a level or two deeper than its own trigger: one close to the depth the
        # orchestrator's JSON reader takes could pass alone and never be decodable in a group.
        shallow = ready.body.count(b"{") + ready.body.count(b"[") < SURELY_DECODABLE_BRACKETS - _GROUP_LEVELS
        if small and shallow:
            return None
        alert = ready.event.data.alert
        what = f"alert {alert.name[:200]!r} on group_by route {route.name}"
        lone = lone_trigger(partition, route, alert, at_ms)
        if not shallow:
            problem = undecodable(lone.to_json())
            if problem is not None:
                return f"{what}: a group trigger carrying it could not be decoded by the orchestrator: {problem}"
        return None if small else self._too_large(partition, route, alert, ready, lone, what)

    def _too_large(
        self, partition: int, route: Route, alert: Alert, ready: ReadyTrigger, lone: WorkflowTrigger, what: str
    ) -> str | None:
        """Why this alert's grouping state entries, or the trigger of a group holding it alone, cannot be written."""
        header = (KIND, *group_of(route, alert))
        limit = f"over the {self._max_bytes}-byte limit (KAFKA_MAX_MESSAGE_BYTES)"
        entries: list[tuple[str, tuple[str, ...], dict[str, Any] | bytes]] = [
            ("alert", alert_parts(header, member(route, alert)), ready.body),
            ("header", header, group_header_value(route, alert)),
        ]
        for kind, parts, value in entries:
            size = StateLog.entry_size(Entry(partition, self._state.key(partition, *parts), value))
            if size > self._max_bytes:
                return f"{what}: its grouping state entry ({kind}) would be {size} bytes, {limit}"
        size = record_size(lone.data.idempotency_key.encode("utf-8"), lone.to_json(), lone.kafka_headers())
        if size > self._max_bytes:
            return f"{what}: a group trigger carrying it would be {size} bytes, {limit}; it could never be flushed"
        return None

    def _evictions(self, filtered: _Filtered) -> None:
        """Tombstones for the state evicted to stay within bounds, counted."""
        evicted_dedup = self._dedup.take_evicted()
        evicted_groups = self._groups.take_evicted()
        for partition, parts in evicted_dedup:
            filtered.put(Entry(partition, self._state.key(partition, dedup.KIND, *parts), None))
        for partition, parts in evicted_groups:
            filtered.put(Entry(partition, self._state.key(partition, *parts), None))
        self._gates.evicted(filtered.put)
        metrics.count_noise_evictions("dedup", len(evicted_dedup))
        metrics.count_noise_evictions("group", len(evicted_groups))

    async def _refused(self, filtered: _Filtered, refused: list[tuple[Entry, BaseException]]) -> None:
        """Kafka refused these entries for good: undo what they held in memory, and dead-letter each alert that was
        held in a group (a trigger that passed dedup is out already: only its window is lost)."""
        failures: dict[int, list[Failure]] = {}
        undone: set[int] = set()  # the held triggers taken back (``id``: one trigger, once)
        for entry, error in refused:
            size = StateLog.entry_size(entry)
            log.error("Kafka refused a noise-control state entry (%d bytes): %r", size, error)
            for holder in filtered.holders.get(orjson.dumps(entry.key), []):
                data = holder.ready.event.data
                if holder.route is None:
                    self._dedup.unadmit(holder.partition, data.route, data.alert)
                elif id(holder.ready) not in undone:
                    undone.add(id(holder.ready))
                    self._groups.discard(holder.partition, holder.route, data.alert)
                    reason = (
                        f"alert {data.alert.name[:200]!r} on group_by route {data.route}: Kafka refused its "
                        f"grouping state entry ({size} bytes): {error!r}"
                    )
                    failures.setdefault(holder.index, []).append(Failure(NOISE_STAGE, reason, data.alert.source))
        orders = []
        for index, reasons in failures.items():
            record, outcome = filtered.kept[index]
            held = [(ready, note) for ready, note in outcome.held if id(ready) not in undone]
            filtered.kept[index] = (
                record,
                dataclasses.replace(outcome, held=held, failures=[*outcome.failures, *reasons]),
            )
            cause = dead_letter_cause(reasons)
            trace = dead_letter_headers(outcome.trace)
            orders.append(DeadLetterOrder(record, cause.stage, cause.reason, alert_source=cause.source, headers=trace))
        if orders:
            await self._dead_letters.write_all(orders)

    async def _load(self, partition: int) -> None:
        entries = await self._state.read(partition)
        now = now_ms()
        stale = self._dedup.restore(partition, entries, now)
        self._groups.restore(partition, entries, now)
        self._gates.restore(partition, entries)
        self._loaded.add(partition)
        # Closed windows (and any past the bound) are deleted, so a compacted topic forgets them too.
        await self._state.write(
            [Entry(partition, self._state.key(partition, dedup.KIND, *parts), None) for parts in stale]
        )

    def _unload(self, partition: int) -> None:
        self._dedup.forget(partition)
        self._groups.forget(partition)
        self._gates.forget(partition)
        self._loaded.discard(partition)

    def assigned(self, partitions: Collection[int]) -> None:
        """The consumer got these routed partitions: their pending groups are read back by the next flush."""
        self._assigned |= set(partitions)

    def revoked(self, partitions: Collection[int]) -> None:
        """The consumer lost these routed partitions: their state is another replica's now."""
        for partition in partitions:
            self._assigned.discard(partition)
            self._unload(partition)

    async def flush_due(self) -> int:
        """Flush every group whose time has come; the number of triggers written."""
        async with self._lock:
            for partition in self._assigned - self._loaded:
                await self._load(partition)
            now = now_ms()
            written = await self._release(now) if len(self._gates.holds) else 0
            due = self._groups.due(now)
            written += await self._flush(due) if due else 0
            gone: list[tuple[int, tuple[str, ...]]] = list(self._groups.expire(now))
            gone += [(p, (dedup.KIND, *parts)) for p, parts in self._dedup.expire(now)]
            # Forgotten groups and closed windows: a tombstone each, so a compacted topic forgets them too.
            await self._state.write([Entry(p, self._state.key(p, *parts), None) for p, parts in gone])
            return written

    async def _release(self, now: float) -> int:
        """Release every held alert whose silence or inhibition ended while it still fires (through dedup and
        grouping, as if it came now), and drop the holds of alerts that stopped firing (their ``ends_at`` passed);
        the number of triggers written. A release writes the trigger first, then deletes the hold: a crash between
        releases it again, with the same idempotency key, which starts nothing twice."""
        at = datetime.fromtimestamp(now / 1000, UTC)
        ended: list[Entry] = []
        releasing = [
            (ConsumedRecord(hold.ready.body, hold.ready.headers, self._state.raw_topic, at, partition),
             Outcome(triggers=[hold.ready]))
            for partition, hold in self._gates.due(at, self._routing(), ended.append)
        ]  # fmt: skip
        if not releasing and not ended:
            return 0
        filtered = self._filter(releasing, released=True)
        for entry in ended:
            filtered.put(entry)
        try:
            await self._emitter.emit_batch(filtered.kept)
            refused = await self._state.write(list(filtered.entries.values()))
        except BaseException:
            for partition in {entry.partition for entry in ended}:
                self._unload(partition)  # the holds left memory but not the topic: read them back next tick
            raise
        for entry, error in refused:
            log.error("Kafka refused a state entry of released holds (%d bytes): %r", StateLog.entry_size(entry), error)
        sent = sum(len(outcome.triggers) for _, outcome in filtered.kept)
        log.info("noise control: %d held alerts released (their mute ended), %d triggers written", len(releasing), sent)
        return sent

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
                Entry(partition, self._state.key(partition, *alert_parts(parts, name)), None) for name in group.alerts
            )
        for entry, error in await self._state.write(entries):
            # A header or tombstone is small (bounded keys): only a broker limit below ours refuses one. The group
            # was flushed; at worst its state comes back after a restart and flushes once more (same key).
            log.error(
                "Kafka refused the state entry of a flushed group (%d bytes): %r", StateLog.entry_size(entry), error
            )
        for _, _, group in due:  # durable: now memory may say so
            group.last_flush_ms, group.flush_at_ms = group.flush_at_ms, None
            group.alerts.clear()
        self._groups.flushed()
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
    """Tells ``NoiseControl`` which routed partitions this replica owns."""

    def __init__(self, noise: NoiseControl) -> None:
        self._noise = noise

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self._noise.revoked([tp.partition for tp in revoked if tp.topic == self._noise.raw_topic])

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self._noise.assigned([tp.partition for tp in assigned if tp.topic == self._noise.raw_topic])


class _Nowhere:
    """The publisher of a preview's noise control: ``decide`` never publishes, so any call is a bug."""

    async def publish(
        self, message: Any, *, key: bytes | None = None, headers: dict[str, str] | None = None, no_confirm: bool = False
    ) -> Any:
        """Refuse: a preview writes nothing."""
        raise RuntimeError("a preview's noise control writes nothing: use decide(), not emit_batch()")


def preview_noise_control(
    settings: IngestSettings, routing: Callable[[], RoutingTable], muting: Muting | None = None
) -> NoiseControl:
    """Noise control exactly as ``noise_control`` configures it (dedup window, group bounds, record size), for a
    preview without Kafka: its state starts empty and lives in memory; use ``decide``, never ``emit_batch``.
    ``muting``: the silences (and alerts, for inhibition) to decide against; none by default."""
    nowhere = _Nowhere()
    backoff = Backoff(max_s=settings.publish_backoff_max_s, budget_s=settings.publish_retry_budget_s)
    max_bytes = settings.kafka.max_message_bytes
    dead_letters = DeadLetters(nowhere, source="alertmesh/route", max_bytes=max_bytes, backoff=backoff)
    emitter = Emitter(triggers=nowhere, dead_letters=dead_letters, backoff=backoff)
    muting = muting or Muting(Silences.in_memory(), None, routing)
    return noise_control(settings, routing, emitter, nowhere, dead_letters, backoff, muting)


def noise_control(
    settings: IngestSettings,
    routing: Callable[[], RoutingTable],
    emitter: Emitter,
    triggers: Publisher,
    dead_letters: DeadLetters,
    backoff: Backoff,
    muting: Muting,
) -> NoiseControl:
    """Stage 2's noise control as the settings and routing file ask for it (a pass-through while nothing filters);
    its state is kept per partition of the routed topic."""
    return NoiseControl(
        emitter=emitter,
        triggers=triggers,
        dead_letters=dead_letters,
        state=StateLog(settings.kafka, settings.topics.ingest_state, settings.topics.routed, backoff),
        routing=routing,
        window_s=settings.dedup_window_s,
        max_alerts=settings.group_max_alerts,
        max_bytes=settings.kafka.max_message_bytes,
        backoff=backoff,
        tick_s=settings.group_tick_s,
        max_dedup_entries=settings.dedup_max_entries,
        max_groups=settings.group_max_groups,
        muting=muting,
        max_holds=settings.muted_max_holds,
    )
