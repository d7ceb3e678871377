"""The alert lifecycle and per-route rate limits through the real broker and Temporal dev server.

A resolved alert whose firing run is still running reaches it as a signal: ``on_resolved`` skips what has not
started and runs its held action on the real executor (Ray), once, however often the resolved trigger is
delivered; once the run has finished, a resolved alert starts nothing (counted) unless its route says ``start``.
Starts over a route's limit wait (the partition is back-pressured) and all complete, in order per key.
``ALERTMESH_RECORD_HISTORIES=1`` saves the signalled run's history for the replay test (``dsl-resolved``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from schemas import WorkflowTrigger
from schemas.identity import idempotency_key
from services.orchestrator.scheduler import ALERT_RESOLVED, NOT_RESOLVED
from tests.conftest import TemporalServer
from tests.executor.conftest import ray_session  # noqa: F401  (the session's Ray, as a fixture)
from tests.orchestrator.conftest import Mesh, running_mesh, running_worker
from tests.orchestrator.factories import DEMO_ALERT, make_trigger
from tests.orchestrator.test_dsl_integration import RESHAPE, ray_executor_worker, record, results, workflow

pytestmark = pytest.mark.integration

#: Triage sleeps for ``TRIGGER.inputs.seconds`` on the executor; escalating waits for it; ``note`` waits for the
#: alert to resolve, and reads the resolved alert.
RESOLVABLE = workflow(
    "dsl-resolved",
    [
        {"ref": "triage", "action": "tests.sleep", "args": {"seconds": "${{ TRIGGER.inputs.seconds }}"}},
        {"ref": "escalate", "action": RESHAPE, "depends_on": ["triage"], "args": {"value": "paged"}},
        {"ref": "note", "action": RESHAPE, "args": {"value": "${{ ENV.resolved.name }} ${{ ENV.resolved.status }}"}},
    ],
    on_resolved={"cancel_pending": True, "run": ["note"]},
    returns={"note": "${{ ACTIONS.note.result }}"},
)


@pytest.fixture
async def ray_mesh(kafka_bootstrap: str, temporal_server: TemporalServer, ray_session: str) -> AsyncIterator[Mesh]:  # noqa: F811
    async with running_mesh(
        kafka_bootstrap, temporal_server.address, with_executor=False, extra_definitions={RESOLVABLE.name: RESOLVABLE}
    ) as mesh:
        worker = ray_executor_worker(mesh.orchestrator.client, mesh.settings.temporal.action_task_queue)
        async with running_worker(worker):
            yield mesh


def alert_trigger(fingerprint: str, status: str, seconds: float, **data: Any) -> WorkflowTrigger:
    """A trigger as ingest publishes it: keyed by the alert, firing and resolved sharing the start time."""
    alert = DEMO_ALERT.model_copy(update={"status": status, "fingerprint": fingerprint})
    trigger = make_trigger(workflow=RESOLVABLE.name, key=idempotency_key(alert, RESOLVABLE.name))
    inputs = {"seconds": seconds}
    return trigger.model_copy(
        update={"data": trigger.data.model_copy(update={"alert": alert, "inputs": inputs, **data})}
    )


async def wait_for_event(mesh: Mesh, workflow_id: str, kind: EventType.ValueType, timeout: float = 60) -> None:
    handle = mesh.orchestrator.client.get_workflow_handle(workflow_id)
    async with asyncio.timeout(timeout):
        while True:
            try:
                if any(event.event_type == kind for event in (await handle.fetch_history()).events):
                    return
            except RPCError:  # not started yet
                pass
            await asyncio.sleep(0.2)


async def test_a_resolved_alert_is_signalled_to_its_running_workflow_once(ray_mesh: Mesh) -> None:
    fingerprint = uuid.uuid4().hex[:16]
    firing = alert_trigger(fingerprint, "firing", seconds=4)
    resolved = alert_trigger(fingerprint, "resolved", seconds=4)
    firing_id = firing.data.idempotency_key
    await ray_mesh.send(firing)
    # The triage batch is on its way to the executor: the run is mid-flight when its alert resolves.
    await wait_for_event(ray_mesh, firing_id, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    await ray_mesh.send(resolved)
    await ray_mesh.send(resolved)  # a redelivery: signalled again, the run reacts once

    [event] = (await results(ray_mesh, 1)).values()
    result = event.data
    assert (result.workflow_id, result.status) == (firing_id, "completed"), result.error
    reports = {a.ref: a for a in result.actions}
    assert reports["triage"].status == "succeeded"
    assert reports["escalate"].status == "skipped"
    assert reports["escalate"].error is not None and reports["escalate"].error.type == ALERT_RESOLVED
    assert (reports["note"].status, result.returns) == ("succeeded", {"note": "ProbeFailure resolved"})
    consumer = ray_mesh.orchestrator.consumer
    assert consumer.resolved == {"signalled": 2}
    history = await ray_mesh.orchestrator.client.get_workflow_handle(firing_id).fetch_history()
    signals = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    batches = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert (len(signals), len(batches)) == (2, 2)  # triage, then note once: the second signal changed nothing
    await record(ray_mesh, firing_id, "dsl-resolved")

    # The run is over: the same resolved alert starts nothing now (counted), unless its route says start.
    await ray_mesh.send(resolved)
    started = alert_trigger(fingerprint, "resolved", seconds=0.1, on_resolved_finished="start", route="restart")
    started = started.model_copy(
        update={"data": started.data.model_copy(update={"idempotency_key": f"r-{fingerprint}"})}
    )
    await ray_mesh.send(started)
    found = await results(ray_mesh, 2)  # from the topic's start: the first run's result, then the started one
    own = found[started.data.idempotency_key].data
    assert own.status == "completed", own.error
    # Nothing signals the run it started: its held action is skipped when it ends.
    assert {a.ref: (a.error.type if a.error else a.status) for a in own.actions} == {
        "triage": "succeeded", "escalate": "succeeded", "note": NOT_RESOLVED,
    }  # fmt: skip
    assert consumer.resolved == {"signalled": 2, "ignored": 1, "started": 1}
    with pytest.raises(RPCError):  # the ignored one never ran
        await ray_mesh.orchestrator.client.get_workflow_handle(resolved.data.idempotency_key).describe()


#: Starts the limited route may make: 4 a second after a burst of 2.
RATE, BURST = 4.0, 2
KEYS, PER_KEY = 3, 6


async def test_starts_over_a_routes_limit_wait_and_all_complete_in_order_per_key(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    async with running_mesh(
        kafka_bootstrap,
        temporal_server.address,
        orchestrator={"rate_limits": f"limited={RATE:g}/{BURST}", "backpressure_poll_s": 0.5},
    ) as mesh:
        [subscriber] = mesh.orchestrator.broker.subscribers
        paused_seen: set[str] = set()

        async def watch_pauses() -> None:
            while True:
                consumer = subscriber.consumer  # type: ignore[attr-defined]
                if consumer is not None:
                    paused_seen.update(f"{tp.topic}@{tp.partition}" for tp in consumer.paused())
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch_pauses())
        sent: dict[str, list[str]] = {}
        pending = []
        for _ in range(PER_KEY):
            for k in range(KEYS):  # interleaved keys on one partition, as a busy topic has them
                trigger = make_trigger()
                trigger = trigger.model_copy(update={"data": trigger.data.model_copy(update={"route": "limited"})})
                sent.setdefault(f"stream-{k}", []).append(trigger.data.idempotency_key)
                key = f"stream-{k}".encode()
                # All at once (one producer keeps their order on the partition): more than the limit is offered.
                pending.append(
                    await mesh.producer.send(mesh.settings.topics.triggers, trigger.to_json(), key=key, partition=0)
                )
        await asyncio.gather(*pending)
        total = KEYS * PER_KEY
        found = await results(mesh, total, timeout=120)
        watcher.cancel()
        # While the batch waited for tokens its partition was paused (the consumer kept polling), then resumed.
        assert paused_seen == {f"{mesh.settings.topics.triggers}@0"}
        assert subscriber.consumer.paused() == set()  # type: ignore[attr-defined]
        assert {wid: event.data.status for wid, event in found.items()} == dict.fromkeys(found, "completed")
        assert sorted(found) == sorted(wid for ids in sent.values() for wid in ids)

        client = mesh.orchestrator.client
        started: dict[str, datetime] = {}
        for wid in found:
            description = await client.get_workflow_handle(wid).describe()
            assert description.status == WorkflowExecutionStatus.COMPLETED
            started[wid] = description.start_time.astimezone(UTC)
        for ids in sent.values():  # each key's workflows started in the order their triggers were published
            times = [started[wid] for wid in ids]
            assert times == sorted(times), ids
        # Within any stretch of time the route started at most its burst plus what the rate refilled (one start
        # of slack for the server's clock against the consumer's).
        moments = sorted(started.values())
        for i, first in enumerate(moments):
            for j in range(i + 1, len(moments)):
                elapsed = (moments[j] - first).total_seconds()
                assert j - i + 1 <= BURST + RATE * elapsed + 1, (i, j, elapsed)
        limiter = mesh.orchestrator.consumer.limiter
        assert limiter is not None and limiter.throttled >= total // 2
