"""The trigger consumer: a batch of WorkflowTrigger records in, a durably started DSLWorkflow (or a dead letter)
out for every one of them.

The batch is committed (ack) only when the handler returns, i.e. after Temporal accepted every start or the dead
letter was written with acks=all. The starts of a batch run concurrently (at most ``start_concurrency`` at once),
except that records with the same Kafka key start one after the other, in order; each route's starts stay within
its rate limit (``rate_limits``: the batch waits for tokens, so the partition is not fetched meanwhile). A resolved
alert whose firing alert's run is still running is signalled to that run instead of starting one (``lifecycle``,
``open_runs``).
Poison never raises: a trigger that cannot be decoded, names an unknown workflow, cannot be
encoded as workflow input, or that Temporal refuses as invalid (``is_permanent``) is dead-lettered and its
neighbours go on. Transient failures (Temporal or Kafka down) are waited out inside the batch (back-pressure).
The handler raises only when cancelled (shutdown) or on a bug; NACK_ON_ERROR then seeks back so the batch is
consumed again rather than committed (see ``services.shared.consuming`` for why FastStream's batch mode gives
exactly this).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from dsl.model import WorkflowDefinition
from schemas import WorkflowTrigger
from services.orchestrator.backpressure import paused_while_waiting
from services.orchestrator.children import reachable
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import EVENT_SOURCE, DSLRun, ResolvedSignal
from services.orchestrator.lifecycle import firing_run_id
from services.orchestrator.loops import DEFAULT_MAX_ITEMS
from services.orchestrator.open_runs import LOOKUP_DELAYS
from services.orchestrator.rate_limits import RouteLimiter
from services.orchestrator.starter import ResolvedSignaller, WorkflowStarter
from services.shared import metrics, tracing
from services.shared.backoff import Backoff, is_permanent
from services.shared.consuming import (
    DeadLetterOrder,
    DeadLetters,
    Publisher,
    consumed_batch,
    keep_bodies_raw,
    parse_batch,
)
from services.shared.deadletter import ConsumedRecord

log = logging.getLogger(__name__)
#: Dead-letter stages (``schemas.deadletter.STAGES``): the record is not a valid WorkflowTrigger.
DECODE_STAGE = "validate"
#: The trigger is valid but its workflow cannot be started (unknown, unencodable, refused by Temporal).
START_STAGE = "start"


@dataclass(frozen=True)
class _Ready:
    """A decoded trigger and the run it asks for; ``resolved`` when it is a resolved alert the consumer signals to its
    firing run, ``firing_id`` that run's id when the alert's key names it exactly (``lifecycle.firing_run_id``)."""

    record: ConsumedRecord
    trigger: WorkflowTrigger
    run: DSLRun
    resolved: bool = False
    firing_id: str | None = None


class TriggerConsumer:
    """Decodes a trigger, finds its workflow definition, and starts the run (or signals a resolved alert to the
    run its firing alert started)."""

    def __init__(
        self,
        definitions: Mapping[str, WorkflowDefinition],
        starter: WorkflowStarter,
        dlq: Publisher,
        action_task_queue: str,
        *,
        max_message_bytes: int,
        start_concurrency: int = 32,
        variables: Mapping[str, Any] | None = None,
        signaller: ResolvedSignaller | None = None,
        limiter: RouteLimiter | None = None,
        keepalive_s: float = 10.0,
        max_for_each_items: int = DEFAULT_MAX_ITEMS,
        lookup_delays: Sequence[float] = LOOKUP_DELAYS,
    ) -> None:
        """``signaller``: resolved alerts are signalled to their firing run (without it, every trigger starts a
        run). ``limiter``: per-route limits on starts. ``keepalive_s``: a batch waiting longer pauses its partitions
        and polls the consumer this often (``backpressure``). ``max_for_each_items``: the cap runs carry on a
        for_each action's items (ORCHESTRATOR_MAX_FOR_EACH_ITEMS). ``lookup_delays``: how long a resolved
        alert without exact firing run id waits, in steps, for visibility to list a run started a moment ago
        (``open_runs``)."""
        self._lookup_delays = tuple(lookup_delays)
        self._keepalive_s = keepalive_s
        self._definitions = definitions
        # What each workflow's runs may start (children, error handler), computed once: runs carry a snapshot.
        self._reachable = {name: reachable(definition, definitions) for name, definition in definitions.items()}
        self._vars = dict(variables or {})
        self._start_concurrency = start_concurrency
        self._starter = starter
        self._signaller = signaller
        #: The per-route limits (None: unlimited); its counters say how often starts waited.
        self.limiter = limiter
        # Until the dead letter is durable the offset is not committed: wait out a Kafka outage (back-pressure).
        self._dead_letters = DeadLetters(
            dlq, source=EVENT_SOURCE, max_bytes=max_message_bytes, backoff=Backoff(budget_s=None)
        )
        self._action_task_queue = action_task_queue
        self._max_message_bytes = max_message_bytes
        self._max_for_each_items = max_for_each_items
        #: Resolved alerts by what became of them: ``signalled`` (their run was running), ``started`` (it was
        #: not, and the route says start), ``ignored`` (it was not, and the route says ignore: the default).
        self.resolved: Counter[str] = Counter()

    # The handler takes the raw KafkaMessage instead of typed ``WorkflowTrigger`` bodies: FastStream would
    # reject an invalid body before our code runs (logged, then acked or retried forever), whereas decoding
    # here lets poison go to the dead-letter topic with its original bytes and the partition move on.
    async def handle(self, message: KafkaMessage) -> None:
        """The triggers subscriber: one fetched batch of records, through ``consume_batch``; while it takes longer
        than ``keepalive_s`` its partitions are paused and the consumer keeps polling."""
        async with paused_while_waiting(message.consumer, self._keepalive_s):
            await self.consume_batch(consumed_batch(message))

    async def consume_batch(self, records: Sequence[ConsumedRecord]) -> None:
        """Start the workflow every record asks for (``start_concurrency`` at a time, records with the same Kafka
        key one after the other, each route within its rate limit), then signal the resolved alerts whose firing
        run is running, then write the dead letters of those that cannot start, in the batch's order; returns once
        every start, signal and dead letter is durable. If a start raises (cancellation, a bug), the others are
        cancelled and the error propagates: the batch is then not committed."""
        prepared = [self._prepare(record) for record in records]
        refusals = [item if isinstance(item, DeadLetterOrder) else None for item in prepared]
        ready = [(i, item) for i, item in enumerate(prepared) if isinstance(item, _Ready)]
        await self._start_all([(i, item) for i, item in ready if not item.resolved], refusals)
        # Resolved alerts go after the batch's starts, so a firing alert just before its resolution in the same
        # batch has its run by then.
        resolved = [(i, item) for i, item in ready if item.resolved]
        if resolved:
            unmatched = await self._signal_all([item for _, item in resolved])
            await self._start_all([pair for pair, start in zip(resolved, unmatched, strict=True) if start], refusals)
        orders = [_traced(order) for order in refusals if order is not None]
        if orders:
            await self._dead_letters.write_all(orders)

    async def consume(self, record: ConsumedRecord) -> None:
        """Start the workflow ``record`` asks for, or dead-letter it; returns once either is durable."""
        await self.consume_batch([record])

    def _prepare(self, record: ConsumedRecord) -> _Ready | DeadLetterOrder:
        """The run ``record`` asks for, or what to dead-letter if it cannot be started."""
        try:
            trigger = WorkflowTrigger.from_json(record.value)
        except ValidationError as error:
            return DeadLetterOrder(record, DECODE_STAGE, f"invalid WorkflowTrigger: {error}")
        definition = self._definitions.get(trigger.data.workflow)
        if definition is None:
            known = ", ".join(sorted(self._definitions)) or "none"
            return _refusal(record, trigger, f"unknown workflow {trigger.data.workflow[:200]!r} (loaded: {known})")
        # The run carries the results topic's limit, so the workflow (and its replays) cut the result to fit.
        run = DSLRun(
            definition=definition,
            trigger=trigger,
            action_task_queue=self._action_task_queue,
            max_message_bytes=self._max_message_bytes,
            vars=self._vars,
            workflows=self._reachable[definition.name],
            max_for_each_items=self._max_for_each_items,
        )
        problem = _unencodable(run)
        if problem:
            return _refusal(record, trigger, problem)
        if self._signaller is None or trigger.data.alert.status != "resolved":
            return _Ready(record, trigger, run)
        return _Ready(record, trigger, run, resolved=True, firing_id=firing_run_id(trigger.data))

    async def _start_all(self, items: list[tuple[int, _Ready]], refusals: list[DeadLetterOrder | None]) -> None:
        """Start ``items`` (index in the batch, run), putting what to dead-letter at its index in ``refusals``.

        Rate-limit tokens are taken in the batch's order before each start is launched, so a route over its limit
        holds back the rest of the batch (and, the batch not being done, the partition: back-pressure, nothing
        dropped). A record waits for the start of the record before it with the same Kafka key."""
        if not items:
            return
        if len(items) == 1 and self.limiter is None:
            [(index, only)] = items
            refusals[index] = await self._start(only)
            return
        gate = asyncio.Semaphore(self._start_concurrency)
        latest: dict[bytes, asyncio.Task[DeadLetterOrder | None]] = {}

        async def one(item: _Ready, before: asyncio.Task[DeadLetterOrder | None] | None) -> DeadLetterOrder | None:
            if before is not None:
                await asyncio.wait([before])  # its outcome is its own; only its order matters here
            async with gate:
                return await self._start(item)

        tasks: list[tuple[int, asyncio.Task[DeadLetterOrder | None]]] = []
        async with asyncio.TaskGroup() as group:
            for index, item in items:
                if self.limiter is not None:
                    await self.limiter.acquire(item.trigger.data.route)
                key = item.record.key
                task = group.create_task(one(item, latest.get(key) if key is not None else None))
                if key is not None:
                    latest[key] = task
                tasks.append((index, task))
        for index, task in tasks:
            refusals[index] = task.result()

    async def _start(self, item: _Ready) -> DeadLetterOrder | None:
        """Start ``item``'s run (waiting out Temporal outages); what to dead-letter if Temporal refuses it.

        Traced as the trigger's hop: a span child of the trigger record's ``traceparent``, current while the
        start runs, so Temporal's tracing interceptor carries it (and the correlation id baggage) into the run."""
        trigger, record = item.trigger, item.record
        attributes = _trigger_attributes(record, trigger)
        with tracing.handling(f"process {record.topic}", record.headers, attributes) as span:
            try:
                outcome = await self._starter.start(item.run)
            except Exception as error:
                if not is_permanent(error):
                    raise
                reason = f"Temporal refused the start: {type(error).__name__}: {error}"
                tracing.dead_lettered(span, START_STAGE, reason)
                refusal = _refusal(record, trigger, reason)
                return dataclasses.replace(refusal, headers=tracing.dead_letter_headers(tracing.span_headers(span)))
            span.set_attribute("alertmesh.start", outcome)
            metrics.count_start(trigger.data.workflow, duplicate=outcome == "duplicate")
            data = trigger.data
            if outcome == "duplicate":
                log.info("duplicate trigger %s: workflow %s already started", trigger.id, data.idempotency_key)
            else:
                metrics.observe_alert_to_start(data.workflow, trigger.time)
                log.info("started %s for trigger %s as %s", data.workflow, trigger.id, data.idempotency_key)
        return None

    async def _signal_all(self, items: list[_Ready]) -> list[bool]:
        """Signal each resolved alert to its firing run(s); for each, whether it must be started instead.

        Every alert is tried at once (``start_concurrency`` at a time). Those that found no run and had no exact id
        (``_signal_firing_runs``) are tried again together after each of ``lookup_delays``, while visibility
        indexes runs started a moment ago: the batch waits those delays once, however many alerts wait with it,
        and holds no concurrency slot while it sleeps."""
        assert self._signaller is not None
        signaller = self._signaller
        gate = asyncio.Semaphore(self._start_concurrency)
        signals = [ResolvedSignal(trigger_id=item.trigger.id, alert=item.trigger.data.alert) for item in items]
        signalled: list[list[str]] = [[] for _ in items]

        async def attempt(index: int, first: bool) -> None:
            async with gate:
                signalled[index] = await _signal_firing_runs(signaller, items[index], signals[index], exact=first)

        waiting = list(range(len(items)))
        for delay in (None, *self._lookup_delays):
            if delay is not None:
                await asyncio.sleep(delay)
            async with asyncio.TaskGroup() as group:
                for index in waiting:
                    group.create_task(attempt(index, first=delay is None))
            # Only an alert without an exact id waits for visibility: an exact run started just now was found.
            waiting = [index for index in waiting if not signalled[index] and items[index].firing_id is None]
            if not waiting:
                break
        return [self._account(item, ids) for item, ids in zip(items, signalled, strict=True)]

    def _account(self, item: _Ready, signalled: list[str]) -> bool:
        """Count and log what became of a resolved alert; whether its route says to start it (no run got it)."""
        data = item.trigger.data
        if signalled:
            self.resolved["signalled"] += 1
            log.info("resolved alert %s signalled to its running workflow(s) %s", item.trigger.id, signalled)
            return False
        start = data.on_resolved_finished == "start"
        self.resolved["started" if start else "ignored"] += 1
        log.info(
            "resolved alert %s: no firing run of %s:%s is running (finished or never started); route %r says %s",
            item.trigger.id, data.alert.source, data.alert.fingerprint, data.route, data.on_resolved_finished,
        )  # fmt: skip
        return start


async def _signal_firing_runs(
    signaller: ResolvedSignaller, item: _Ready, signal: ResolvedSignal, *, exact: bool
) -> list[str]:
    """Signal the resolved alert of ``item`` to its firing run(s); the ids that were running and got it.

    The exact run first when the key names it and ``exact`` (the first try; the start-time path has no visibility
    delay). Otherwise, or when that run is not running, every open run of the same source and fingerprint in the
    index: all of them, since the sender says the alert is no longer firing and each open run was started for a
    firing of it (repeated firings of an alert without start time are separate runs)."""
    if exact and item.firing_id is not None and await signaller.signal_resolved(item.firing_id, signal) == "signalled":
        return [item.firing_id]
    try:
        found = await signaller.open_firing_runs(item.trigger.data)
    except Exception as error:
        if not is_permanent(error):
            raise
        # Temporal refuses the lookup itself (the search attribute unregistered after start): a stuck partition
        # would hold back every alert behind this one, so it counts as no open run, loudly.
        log.error("resolved alert %s: the index of open runs cannot be read: %s", item.trigger.id, error)
        return []
    return [
        wid for wid in found if wid != item.firing_id and await signaller.signal_resolved(wid, signal) == "signalled"
    ]


def _trigger_attributes(record: ConsumedRecord, trigger: WorkflowTrigger) -> dict[str, Any]:
    data = trigger.data
    return tracing.kafka_attributes(record.topic, record.partition, record.offset, record.key) | {
        tracing.EVENT_ID: trigger.correlationid,  # ingest makes the alert's event id the correlation id
        tracing.CORRELATION_ID: trigger.correlationid,
        tracing.IDEMPOTENCY_KEY: data.idempotency_key,
        tracing.WORKFLOW_ID: data.idempotency_key,
        tracing.ROUTE: data.route,
        tracing.WORKFLOW: data.workflow,
        "alertmesh.trigger_id": trigger.id,
    }


def _traced(order: DeadLetterOrder) -> DeadLetterOrder:
    """``order`` with the trace context of its dead letter: a refusal found before any start (undecodable,
    unknown workflow, unencodable input) gets its own short span here, child of the record's trace."""
    if order.headers:
        return order
    record = order.record
    attributes = tracing.kafka_attributes(record.topic, record.partition, record.offset, record.key)
    if order.correlationid:
        attributes |= {tracing.CORRELATION_ID: order.correlationid, tracing.EVENT_ID: order.correlationid}
    with tracing.handling(f"process {record.topic}", record.headers, attributes) as span:
        tracing.dead_lettered(span, order.stage, order.reason)
        return dataclasses.replace(order, headers=tracing.dead_letter_headers(tracing.span_headers(span)))


def _refusal(record: ConsumedRecord, trigger: WorkflowTrigger, reason: str) -> DeadLetterOrder:
    return DeadLetterOrder(
        record, START_STAGE, reason, trigger.correlationid, trigger.id, alert_source=trigger.data.alert.source
    )


def _unencodable(run: DSLRun) -> str | None:
    """Why the run's input would not survive Temporal's data converter (None when it does).

    The client encodes the input before sending it, and the workflow decodes it again; pydantic refuses nesting
    past about 255 levels each way, at slightly different depths. A trigger inside that band would otherwise
    start a workflow that can never read its input.
    """
    converter = pydantic_data_converter.payload_converter
    try:
        converter.from_payloads(converter.to_payloads([run]), [DSLRun])
    except Exception as error:  # whatever the converter raises, this input can never be started
        return f"workflow input cannot be encoded for Temporal: {type(error).__name__}: {str(error)[:500]}"
    return None


def subscribe_triggers(broker: KafkaBroker, settings: OrchestratorSettings, consumer: TriggerConsumer) -> None:
    """Attach ``consumer`` to the triggers topic in the service's consumer group."""
    subscriber = broker.subscriber(
        settings.topics.triggers,
        group_id=settings.group_id,
        batch=True,
        max_records=settings.batch_max_records,
        # How long a fetch may wait for a batch to fill; FastStream also sleeps this long after an empty one.
        batch_timeout_ms=settings.kafka.fetch_max_wait_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # A new group starts from the oldest trigger: nothing published before first start-up is lost.
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        # Timed so a restarted orchestrator gets its partitions back within seconds (KafkaSettings).
        session_timeout_ms=settings.kafka.session_timeout_ms,
        heartbeat_interval_ms=settings.kafka.heartbeat_interval_ms,
        rebalance_timeout_ms=settings.kafka.rebalance_timeout_ms,
        max_poll_interval_ms=settings.kafka.max_poll_interval_ms,
        # FastStream's own parser and JSON decoder must never see a record first (services.shared.consuming).
        parser=parse_batch,
        decoder=keep_bodies_raw,
    )
    subscriber(consumer.handle)
