"""The trigger consumer on the real broker and Temporal: exactly-once start, dead letters, health."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from schemas import DeadLetter, WorkflowResult
from tests.conftest import TemporalServer
from tests.ingest.kafka_io import committed
from tests.orchestrator.conftest import Mesh, running_mesh
from tests.orchestrator.factories import make_trigger

pytestmark = pytest.mark.integration


async def executions(client: Client, key: str) -> int:
    return len([w async for w in client.list_workflows(f'WorkflowId="{key}"')])


async def test_same_trigger_twice_starts_one_workflow(mesh: Mesh) -> None:
    trigger = make_trigger()
    key = trigger.data.idempotency_key
    await mesh.send(trigger)
    await mesh.send(trigger)  # redelivery while the first run may still be running
    [(first, _)] = await mesh.read(mesh.settings.topics.results, WorkflowResult, 1)
    assert isinstance(first, WorkflowResult) and first.data.workflow_id == key

    await mesh.send(trigger)  # redelivery after the run completed: REJECT_DUPLICATE keeps it at one
    sentinel = make_trigger()
    await mesh.send(sentinel)  # same partition: once its result is out, every earlier trigger was handled
    events = await mesh.read(mesh.settings.topics.results, WorkflowResult, 2)
    assert [e.data.workflow_id for e, _ in events] == [key, sentinel.data.idempotency_key]  # type: ignore[attr-defined]

    client = mesh.orchestrator.client
    for _ in range(50):  # visibility is updated asynchronously
        if await executions(client, sentinel.data.idempotency_key) == 1:
            break
        await asyncio.sleep(0.1)
    assert await executions(client, key) == 1


async def test_invalid_trigger_is_dead_lettered_and_next_one_starts(mesh: Mesh) -> None:
    await mesh.send(b"definitely not json", key=b"poison")
    unknown = make_trigger(workflow="nope")
    await mesh.send(unknown)
    good = make_trigger()
    await mesh.send(good)

    letters = await mesh.read(mesh.settings.topics.dlq, DeadLetter, 2)
    decode, start = (letter for letter, _ in letters)
    assert isinstance(decode, DeadLetter) and isinstance(start, DeadLetter)
    assert (decode.data.stage, decode.data.original, decode.data.original_key) == (
        "validate",
        b"definitely not json",
        b"poison",
    )
    assert decode.data.original_topic == mesh.settings.topics.triggers and decode.data.original_offset == 0
    assert start.data.stage == "start" and start.correlationid == unknown.correlationid
    assert start.data.original == unknown.to_json()

    [(result, _)] = await mesh.read(mesh.settings.topics.results, WorkflowResult, 1)
    assert isinstance(result, WorkflowResult)
    assert result.data.workflow_id == good.data.idempotency_key and result.data.status == "completed"


async def test_healthy_when_kafka_and_temporal_answer(mesh: Mesh) -> None:
    assert await mesh.orchestrator.healthy() is True


async def test_the_trigger_consumer_uses_the_configured_group_timing(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    timing = {"session_timeout_ms": 7_000, "heartbeat_interval_ms": 1_500, "rebalance_timeout_ms": 8_000}
    async with running_mesh(kafka_bootstrap, temporal_server.address, with_executor=False, **timing) as mesh:
        [subscriber] = mesh.orchestrator.broker.subscribers
        coordinator = subscriber.consumer._coordinator
        async with asyncio.timeout(60):  # joined the group on the real broker with these values
            while coordinator.member_id == "":
                await asyncio.sleep(0.1)
        assert (coordinator._session_timeout_ms, coordinator._heartbeat_interval_ms) == (7_000, 1_500)
        assert coordinator._rebalance_timeout_ms == 8_000


async def test_a_batch_with_poison_in_the_middle_starts_every_neighbour_and_commits_it_all(mesh: Mesh) -> None:
    good = [make_trigger() for _ in range(5)]
    values = [(t.data.idempotency_key.encode(), t.to_json()) for t in good]
    values.insert(2, (b"poison", b"{not a trigger"))
    topic = mesh.settings.topics.triggers
    # All in flight at once: the consumer fetches them together.
    sent = [await mesh.producer.send(topic, value, key=key, partition=0) for key, value in values]
    await asyncio.gather(*sent)

    [(letter, _)] = await mesh.read(mesh.settings.topics.dlq, DeadLetter, 1)
    assert isinstance(letter, DeadLetter)
    assert (letter.data.stage, letter.data.original, letter.data.original_offset) == (
        "validate",
        b"{not a trigger",
        2,
    )
    results = await mesh.read(mesh.settings.topics.results, WorkflowResult, len(good), timeout=60)
    assert sorted(r.data.workflow_id for r, _ in results) == sorted(t.data.idempotency_key for t in good)  # type: ignore[attr-defined]
    async with asyncio.timeout(30):
        while await committed(mesh.settings.kafka.bootstrap_servers, mesh.settings.group_id, topic) != len(values):
            await asyncio.sleep(0.2)
