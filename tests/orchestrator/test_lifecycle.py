"""The trigger consumer's alert lifecycle and rate limits, with fakes for Temporal: a resolved alert is signalled
to its firing run when that runs (by its exact id when both are keyed by the start time, else through the index of
open runs by source and fingerprint), else started or ignored as its route says; starts keep their order per Kafka
key and wait for their route's tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.service import RPCError, RPCStatusCode

from schemas import Trigger, WorkflowTrigger
from schemas.alert import Alert
from schemas.identity import idempotency_key
from services.orchestrator.app import TriggerConsumer
from services.orchestrator.contracts import DSLRun, ResolvedSignal
from services.orchestrator.lifecycle import firing_run_id
from services.orchestrator.open_runs import SERIES, STARTS_AT_MEMO, alert_series, firing_marks, same_firing
from services.orchestrator.rate_limits import RouteLimiter, parse_rate_limits
from services.orchestrator.starter import SignalOutcome, StartOutcome
from services.shared.deadletter import ConsumedRecord
from tests.orchestrator.factories import DEMO_ALERT, definition, make_trigger
from tests.shared.fakes import SizeLimitedPublisher

ECHO = definition([{"ref": "a", "action": "core.transform.reshape", "args": {"value": 1}}], name="triage")


QUEUE = "wf-q"


class FakeTemporal:
    """Starts (recorded in order, each taking a moment so starts overlap; a started run keeps running, indexed as
    TemporalStarter indexes it) and signals to the ids it runs; ``index_lag``: how many lookups miss a run after
    its start (visibility indexing it)."""

    def __init__(self, running: set[str], index_lag: int = 0) -> None:
        self.running = running
        self.started: list[str] = []
        self.signals: list[tuple[str, ResolvedSignal]] = []
        #: Each running run's index entry: series and recorded start time.
        self.index: dict[str, tuple[str, object]] = {}
        self.lookups: list[str] = []
        self.index_lag = index_lag
        self._unseen: dict[str, int] = {}

    async def start(self, run: DSLRun) -> StartOutcome:
        await asyncio.sleep(0.01)
        key = run.trigger.data.idempotency_key
        self.started.append(key)
        self.running.add(key)
        attributes, memo = firing_marks(run.trigger.data, QUEUE)
        if attributes is not None:
            self.index[key] = (attributes[SERIES], memo.get(STARTS_AT_MEMO))
            self._unseen[key] = self.index_lag
        return "started"

    async def open_firing_runs(self, trigger: Trigger) -> list[str]:
        self.lookups.append(trigger.idempotency_key)
        series = alert_series(QUEUE, trigger.workflow, trigger.alert)
        found = []
        for key, (indexed, started) in self.index.items():
            if self._unseen.get(key, 0) > 0:  # not indexed yet: this lookup misses it
                self._unseen[key] -= 1
                continue
            if key in self.running and indexed == series and same_firing(trigger.alert, started):
                found.append(key)
        return found

    async def signal_resolved(self, workflow_id: str, signal: ResolvedSignal) -> SignalOutcome:
        if workflow_id not in self.running:
            return "not-running"
        self.signals.append((workflow_id, signal))
        return "signalled"


def consumer(
    temporal: FakeTemporal, limiter: RouteLimiter | None = None, lookup_delays: tuple[float, ...] = (0.0, 0.0)
) -> TriggerConsumer:
    return TriggerConsumer(
        {"triage": ECHO}, temporal, SizeLimitedPublisher(10**6), "actions-q",
        max_message_bytes=1_048_576, signaller=temporal, limiter=limiter, lookup_delays=lookup_delays,
    )  # fmt: skip


def record(trigger: WorkflowTrigger, key: bytes | None = None) -> ConsumedRecord:
    return ConsumedRecord(
        trigger.to_json(), {}, "triggers", datetime.now(UTC), 0, 0, key or trigger.data.idempotency_key.encode()
    )


def alert_trigger(status: str, on_finished: str = "ignore", alert: Alert = DEMO_ALERT) -> WorkflowTrigger:
    alert = alert.model_copy(update={"status": status})
    trigger = make_trigger(key=idempotency_key(alert, "triage"))
    data = trigger.data.model_copy(update={"alert": alert, "on_resolved_finished": on_finished})
    return trigger.model_copy(update={"data": data})


def test_the_firing_run_id_is_the_firing_alerts_key() -> None:
    firing, resolved = alert_trigger("firing"), alert_trigger("resolved")
    assert resolved.data.idempotency_key == "triage:alertmanager:1a30ba71cca2921f:resolved:20230206T130845.000Z"
    assert firing_run_id(resolved.data) == firing.data.idempotency_key
    assert firing_run_id(firing.data) is None


async def test_a_resolved_alert_is_signalled_to_its_running_firing_run_even_in_the_same_batch() -> None:
    firing, resolved = alert_trigger("firing"), alert_trigger("resolved")
    temporal = FakeTemporal(running={firing.data.idempotency_key})
    handler = consumer(temporal)
    await handler.consume_batch([record(resolved), record(firing)])
    await handler.consume_batch([record(resolved)])  # redelivered: signalled again, the workflow ignores it
    assert temporal.started == [firing.data.idempotency_key]
    assert [(wid, s.trigger_id) for wid, s in temporal.signals] == [(firing.data.idempotency_key, resolved.id)] * 2
    assert handler.resolved == {"signalled": 2}


async def test_a_resolved_alert_without_a_running_run_starts_only_when_its_route_says_so() -> None:
    temporal = FakeTemporal(running=set())
    handler = consumer(temporal)
    ignored, started = alert_trigger("resolved"), alert_trigger("resolved", on_finished="start")
    await handler.consume_batch([record(ignored)])
    assert (temporal.started, handler.resolved) == ([], {"ignored": 1})
    await handler.consume_batch([record(started)])
    assert (temporal.started, handler.resolved) == ([started.data.idempotency_key], {"ignored": 1, "started": 1})


async def test_starts_keep_their_order_per_kafka_key_and_wait_for_their_routes_tokens() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RouteLimiter(parse_rate_limits("default=100/2"), sleep=sleep, clock=lambda: 0.0)
    temporal = FakeTemporal(running=set())
    triggers = [make_trigger(key=f"k{i % 2}-{i}") for i in range(6)]
    await consumer(temporal, limiter).consume_batch(
        [record(t, key=f"k{i % 2}".encode()) for i, t in enumerate(triggers)]
    )
    for stream in ("k0", "k1"):
        assert [key for key in temporal.started if key.startswith(stream)] == [
            t.data.idempotency_key for t in triggers if t.data.idempotency_key.startswith(stream)
        ]
    # A burst of 2, then each of the other 4 waits its turn (the clock stands still: the waits add up).
    assert slept == [0.01, 0.02, 0.03, 0.04]
    assert limiter.throttled == 4


#: A CloudEvent: keyed by its event id, which differs between the firing and the resolved notification.
CLOUDEVENT = DEMO_ALERT.model_copy(
    update={"source": "ce", "format": "cloudevents", "fingerprint": "svc-a-latency", "starts_at": None}
)
#: A Datadog monitor through a field map: no event id, no start time (keyed by a hash of its content).
FIELD_MAPPED = DEMO_ALERT.model_copy(
    update={"source": "datadog", "format": "field_map", "fingerprint": "monitor-123", "starts_at": None}
)


def notification(alert: Alert, status: str, **update: object) -> WorkflowTrigger:
    return alert_trigger(status, alert=alert.model_copy(update=update))


def test_only_a_start_time_key_names_the_firing_run_exactly() -> None:
    resolved_ce = notification(CLOUDEVENT, "resolved", event_id="ev-2", event_source="ce")
    assert firing_run_id(resolved_ce.data) is None  # its own id is not the firing event's id
    assert firing_run_id(notification(FIELD_MAPPED, "resolved").data) is None  # nor is its content


async def test_a_resolved_cloudevent_reaches_the_firing_run_of_its_subject_through_the_index() -> None:
    firing = notification(CLOUDEVENT, "firing", event_id="ev-1", event_source="ce")
    resolved = notification(CLOUDEVENT, "resolved", event_id="ev-2", event_source="ce")
    assert firing.data.idempotency_key.endswith(":firing:id.ev-1")
    temporal = FakeTemporal(running=set(), index_lag=2)
    handler = consumer(temporal)
    # Same batch: started first, then looked up while visibility is still indexing it (two misses, then found).
    await handler.consume_batch([record(firing), record(resolved)])
    assert temporal.started == [firing.data.idempotency_key]
    assert [(wid, s.trigger_id) for wid, s in temporal.signals] == [(firing.data.idempotency_key, resolved.id)]
    assert temporal.lookups == [resolved.data.idempotency_key] * 3
    assert handler.resolved == {"signalled": 1}


async def test_a_field_mapped_alert_without_start_time_reaches_every_open_firing_run() -> None:
    # Re-notified with other content: two firing runs of the same monitor; the recovery ends both.
    first = notification(FIELD_MAPPED, "firing", summary="CPU 91%")
    again = notification(FIELD_MAPPED, "firing", summary="CPU 97%")
    resolved = notification(FIELD_MAPPED, "resolved", summary="CPU 40%")
    other = notification(FIELD_MAPPED.model_copy(update={"fingerprint": "monitor-456"}), "firing")
    assert len({first.data.idempotency_key, again.data.idempotency_key}) == 2
    temporal = FakeTemporal(running=set())
    handler = consumer(temporal)
    await handler.consume_batch([record(first), record(again), record(other)])
    await handler.consume_batch([record(resolved)])
    assert sorted(wid for wid, _ in temporal.signals) == sorted(
        [first.data.idempotency_key, again.data.idempotency_key]
    )
    assert handler.resolved == {"signalled": 1}
    # Once they are over it starts nothing (the route's default), like any resolved alert whose run finished.
    temporal.running.clear()
    await handler.consume_batch([record(resolved)])
    assert handler.resolved == {"signalled": 1, "ignored": 1}
    assert len(temporal.signals) == 2


async def test_the_exact_firing_run_is_signalled_without_asking_the_index() -> None:
    firing, resolved = alert_trigger("firing"), alert_trigger("resolved")
    temporal = FakeTemporal(running=set())
    handler = consumer(temporal)
    await handler.consume_batch([record(firing)])
    await handler.consume_batch([record(resolved)])
    assert ([wid for wid, _ in temporal.signals], temporal.lookups) == ([firing.data.idempotency_key], [])


async def test_a_start_time_alert_whose_exact_run_is_over_asks_the_index_once_and_skips_other_firings() -> None:
    # The alert fired again (a new start time) while a stale resolved notification of the first firing comes late.
    refired = DEMO_ALERT.model_copy(update={"starts_at": datetime(2023, 2, 6, 14, 0, tzinfo=UTC)})
    temporal = FakeTemporal(running=set())
    handler = consumer(temporal)
    await handler.consume_batch([record(alert_trigger("firing", alert=refired))])
    stale = alert_trigger("resolved")
    await handler.consume_batch([record(stale)])
    assert (temporal.signals, handler.resolved) == ([], {"ignored": 1})
    assert temporal.lookups == [stale.data.idempotency_key]  # one look, no waiting for visibility


def test_only_firing_runs_are_indexed_by_queue_workflow_source_and_fingerprint() -> None:
    firing, resolved = alert_trigger("firing"), alert_trigger("resolved")
    attributes, memo = firing_marks(firing.data, QUEUE)
    assert attributes is not None and attributes[SERIES] == "wf-q:triage:alertmanager:1a30ba71cca2921f"
    assert memo == {STARTS_AT_MEMO: "2023-02-06T13:08:45+00:00"}
    assert firing_marks(resolved.data, QUEUE) == (None, {})
    assert alert_series("other-q", "triage", firing.data.alert) != attributes[SERIES]
    odd = DEMO_ALERT.model_copy(update={"fingerprint": 'a" OR x="'})
    assert _safe_in_query(alert_series(QUEUE, "triage", odd))


def _safe_in_query(series: str) -> bool:
    return '"' not in series and "\\" not in series


def test_a_resolved_alert_ends_the_open_firings_that_started_at_or_before_its_start() -> None:
    assert same_firing(DEMO_ALERT, "2023-02-06T13:08:45+00:00")  # Alertmanager: the same startsAt
    assert same_firing(DEMO_ALERT, "2023-02-06T14:08:45+01:00")  # the same instant in another zone
    assert same_firing(DEMO_ALERT, "2023-02-06T13:00:00+00:00")  # a sender stamping each notification
    assert not same_firing(DEMO_ALERT, "2023-02-06T13:08:46+00:00")  # a later firing: not this one's
    assert same_firing(DEMO_ALERT, None)  # the firing had no start time
    assert same_firing(CLOUDEVENT, "2023-02-06T13:08:46+00:00")  # the resolved alert has none
    assert same_firing(DEMO_ALERT, "not a time")
    naive = DEMO_ALERT.model_copy(update={"starts_at": datetime(2023, 2, 6, 13, 8, 45)})
    assert same_firing(naive, "2023-02-06T13:08:45+00:00")  # no zone: UTC, as in keys
    edge = DEMO_ALERT.model_copy(update={"starts_at": datetime(1, 1, 1, tzinfo=UTC)})
    assert not same_firing(edge, "0001-01-01T00:30:00-01:00")  # compared as instants, never converted


async def test_a_resolved_cloudevent_stamped_later_than_its_firing_still_reaches_it() -> None:
    fired_at, resolved_at = datetime(2024, 5, 1, 10, 0, tzinfo=UTC), datetime(2024, 5, 1, 10, 7, tzinfo=UTC)
    firing = notification(CLOUDEVENT, "firing", event_id="ev-1", event_source="ce", starts_at=fired_at)
    resolved = notification(CLOUDEVENT, "resolved", event_id="ev-2", event_source="ce", starts_at=resolved_at)
    temporal = FakeTemporal(running=set())
    handler = consumer(temporal)
    await handler.consume_batch([record(firing)])
    await handler.consume_batch([record(resolved)])
    assert [wid for wid, _ in temporal.signals] == [firing.data.idempotency_key]


async def test_an_index_temporal_refuses_to_read_counts_as_no_open_run_instead_of_sticking_the_partition() -> None:
    class Unregistered(FakeTemporal):
        async def open_firing_runs(self, trigger: Trigger) -> list[str]:
            raise RPCError("AlertmeshAlert is not a valid search attribute", RPCStatusCode.INVALID_ARGUMENT, b"")

    temporal = Unregistered(running=set())
    handler = consumer(temporal)
    started = notification(FIELD_MAPPED, "resolved")
    started = started.model_copy(update={"data": started.data.model_copy(update={"on_resolved_finished": "start"})})
    await handler.consume_batch([record(started)])
    assert (handler.resolved, temporal.started) == ({"started": 1}, [started.data.idempotency_key])


async def test_resolved_alerts_without_a_run_wait_for_visibility_together_once_per_batch() -> None:
    orphans = [notification(FIELD_MAPPED.model_copy(update={"fingerprint": f"m-{i}"}), "resolved") for i in range(40)]
    temporal = FakeTemporal(running=set())
    handler = consumer(temporal, lookup_delays=(0.2, 0.2))
    began = asyncio.get_running_loop().time()
    await handler.consume_batch([record(orphan) for orphan in orphans])
    elapsed = asyncio.get_running_loop().time() - began
    assert 0.4 <= elapsed < 1.0  # the delays once for the batch, not once per alert (40 x 0.4 s)
    assert sorted(temporal.lookups) == sorted(o.data.idempotency_key for o in orphans for _ in range(3))
    assert handler.resolved == {"ignored": 40}
