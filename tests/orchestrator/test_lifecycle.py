"""The trigger consumer's alert lifecycle and rate limits, with fakes for Temporal: a resolved alert is signalled
to its firing run when that runs, else started or ignored as its route says; starts keep their order per Kafka key
and wait for their route's tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from schemas import WorkflowTrigger
from schemas.identity import idempotency_key
from services.orchestrator.app import TriggerConsumer
from services.orchestrator.contracts import DSLRun, ResolvedSignal
from services.orchestrator.lifecycle import firing_run_id
from services.orchestrator.rate_limits import RouteLimiter, parse_rate_limits
from services.orchestrator.starter import SignalOutcome, StartOutcome
from services.shared.deadletter import ConsumedRecord
from tests.orchestrator.factories import DEMO_ALERT, definition, make_trigger
from tests.shared.fakes import SizeLimitedPublisher

ECHO = definition([{"ref": "a", "action": "core.transform.reshape", "args": {"value": 1}}], name="triage")


class FakeTemporal:
    """Starts (recorded in order, each taking a moment so starts overlap) and signals to the ids it runs."""

    def __init__(self, running: set[str]) -> None:
        self.running = running
        self.started: list[str] = []
        self.signals: list[tuple[str, ResolvedSignal]] = []

    async def start(self, run: DSLRun) -> StartOutcome:
        await asyncio.sleep(0.01)
        self.started.append(run.trigger.data.idempotency_key)
        return "started"

    async def signal_resolved(self, workflow_id: str, signal: ResolvedSignal) -> SignalOutcome:
        if workflow_id not in self.running:
            return "not-running"
        self.signals.append((workflow_id, signal))
        return "signalled"


def consumer(temporal: FakeTemporal, limiter: RouteLimiter | None = None) -> TriggerConsumer:
    return TriggerConsumer(
        {"triage": ECHO}, temporal, SizeLimitedPublisher(10**6), "actions-q",
        max_message_bytes=1_048_576, signaller=temporal, limiter=limiter,
    )  # fmt: skip


def record(trigger: WorkflowTrigger, key: bytes | None = None) -> ConsumedRecord:
    return ConsumedRecord(
        trigger.to_json(), {}, "triggers", datetime.now(UTC), 0, 0, key or trigger.data.idempotency_key.encode()
    )


def alert_trigger(status: str, on_finished: str = "ignore") -> WorkflowTrigger:
    alert = DEMO_ALERT.model_copy(update={"status": status})
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
