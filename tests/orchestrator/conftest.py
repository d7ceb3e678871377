"""Fixtures for orchestrator integration tests: a whole orchestrator on the real broker and Temporal server,
with unique topics, consumer group and task queues per test, and the fake executor on the action queue."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from temporalio.worker import Worker

from alertmesh.kafka_tools import ensure_topics
from dsl.loader import load_workflows
from dsl.model import WorkflowDefinition
from schemas import CloudEvent, WorkflowTrigger
from services.executor.catalog import action_catalog
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.defaults import WORKFLOWS_DIR
from services.orchestrator.service import Orchestrator, connect_temporal
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings
from tests.conftest import TemporalServer
from tests.orchestrator.factories import definition
from tests.orchestrator.fake_executor import fake_executor_worker

#: Extra workflow for failure tests: ``boom`` fails, ``after`` depends on it, ``other`` is independent.
FAILING = definition(
    [
        {"ref": "boom", "action": "test.fail", "args": {"message": "${{ TRIGGER.alert.name }} exploded"}},
        {
            "ref": "after",
            "action": "core.transform.reshape",
            "depends_on": ["boom"],
            "args": {"value": "${{ ACTIONS.boom.result }}"},
        },
        {"ref": "other", "action": "core.transform.reshape", "args": {"value": "${{ TRIGGER.inputs.team }}"}},
    ],
    name="failing",
)

#: For re-run tests: one action with tiny timeouts, so a lost executor fails the run within seconds.
FLAKY_INFRA = definition(
    [
        {
            "ref": "echo",
            "action": "core.transform.reshape",
            "args": {"value": "${{ TRIGGER.alert.name }}"},
            "retry_policy": {"timeout": 1, "max_attempts": 2},
        }
    ],
    returns="${{ ACTIONS.echo.result }}",
    name="flaky-infra",
)

#: For size tests: ``big`` returns ``TRIGGER.inputs.size`` characters, also the workflow's return value.
OVERSIZED = definition(
    [{"ref": "big", "action": "test.big", "args": {"size": "${{ TRIGGER.inputs.size }}"}}],
    returns={"blob": "${{ ACTIONS.big.result }}", "note": "kept"},
    name="oversized",
)

#: For the heartbeat test: the first attempt's executor goes silent (as if SIGKILLed) under the default 300 s
#: start-to-close timeout; the heartbeat timeout must get the action retried long before that.
SILENT_FIRST_ATTEMPT = definition(
    [{"ref": "echo", "action": "test.silent_first_attempt", "args": {"value": "${{ TRIGGER.alert.name }}"}}],
    returns="${{ ACTIONS.echo.result }}",
    name="silent-first-attempt",
)

TEST_DEFINITIONS = {
    "failing": FAILING,
    "flaky-infra": FLAKY_INFRA,
    "oversized": OVERSIZED,
    "silent-first-attempt": SILENT_FIRST_ATTEMPT,
}


def unique_settings(
    kafka_bootstrap: str, temporal_address: str, orchestrator: Mapping[str, Any] | None = None, **kafka: int
) -> OrchestratorSettings:
    """Fresh topics, group and queues; ``orchestrator``: further ``OrchestratorSettings`` fields."""
    tag = uuid.uuid4().hex[:8]
    return OrchestratorSettings(
        **(orchestrator or {}),
        group_id=f"orch-{tag}",
        workflows_dir=WORKFLOWS_DIR,
        health_port=0,
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap, **kafka),
        topics=TopicSettings.tagged(tag),
        temporal=TemporalSettings(
            address=temporal_address, workflow_task_queue=f"wf-{tag}", action_task_queue=f"actions-{tag}"
        ),
    )


@dataclass
class Mesh:
    """A running orchestrator plus helpers to feed triggers and read what comes out."""

    settings: OrchestratorSettings
    orchestrator: Orchestrator
    producer: AIOKafkaProducer

    async def send(self, value: bytes | WorkflowTrigger, key: bytes = b"k") -> None:
        """Publish to the triggers topic's only partition, so messages are handled in send order."""
        if isinstance(value, WorkflowTrigger):
            key, value = value.data.idempotency_key.encode(), value.to_json()
        await self.producer.send_and_wait(self.settings.topics.triggers, value, key=key, partition=0)

    async def read(
        self, topic: str, model: type[CloudEvent], count: int, timeout: float = 30
    ) -> list[tuple[CloudEvent, dict[str, bytes]]]:
        """The first ``count`` events on ``topic`` (from the beginning), with their headers."""
        consumer = AIOKafkaConsumer(
            topic, **self.settings.kafka.client_kwargs(), auto_offset_reset="earliest", enable_auto_commit=False
        )
        await consumer.start()
        events: list[tuple[CloudEvent, dict[str, bytes]]] = []
        try:
            async with asyncio.timeout(timeout):
                async for record in consumer:
                    events.append((model.from_json(record.value), dict(record.headers)))
                    if len(events) == count:
                        return events
        except TimeoutError:
            raise AssertionError(f"only {len(events)} of {count} events on {topic} after {timeout}s") from None
        finally:
            await consumer.stop()
        return events


MeshFactory = Callable[[], Mesh]


@contextlib.asynccontextmanager
async def running_mesh(
    kafka_bootstrap: str,
    temporal_address: str,
    *,
    with_executor: bool = True,
    extra_definitions: Mapping[str, WorkflowDefinition] | None = None,
    variables: Mapping[str, Any] | None = None,
    orchestrator: Mapping[str, Any] | None = None,
    **kafka: int,
) -> AsyncIterator[Mesh]:
    """An orchestrator on fresh topics and queues; the fake executor polls the action queue if ``with_executor``.
    ``orchestrator``: further settings (e.g. ``rate_limits``)."""
    settings = unique_settings(kafka_bootstrap, temporal_address, orchestrator, **kafka)
    await ensure_topics(settings.kafka, settings.topics.all(), partitions=1)
    client = await connect_temporal(settings)
    definitions = {
        **load_workflows(settings.workflows_dir, action_catalog),
        **TEST_DEFINITIONS,
        **(extra_definitions or {}),
    }
    producer = AIOKafkaProducer(**settings.kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        async with Orchestrator(settings, client, definitions, variables) as orchestrator:
            if not with_executor:
                yield Mesh(settings, orchestrator, producer)
                return
            async with running_worker(fake_executor_worker(client, settings.temporal.action_task_queue)):
                yield Mesh(settings, orchestrator, producer)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def running_worker(worker: Worker) -> AsyncIterator[Worker]:
    """Run a Temporal worker for the block; shut it down (cancelling its activities) after."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await worker.shutdown()
        await task


@pytest.fixture
async def mesh(kafka_bootstrap: str, temporal_server: TemporalServer) -> AsyncIterator[Mesh]:
    async with running_mesh(kafka_bootstrap, temporal_server.address) as running:
        yield running
