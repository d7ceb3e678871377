"""The orchestrator's real run loop on the real broker and Temporal server: when its workflow worker or its
trigger consumer dies, /healthz turns 503 and the service exits non-zero (``SystemExit`` with a message, status
1) instead of idling with a healthy face."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from alertmesh.kafka_tools import ensure_topics
from alertmesh.stack.embedded import free_port
from dsl.loader import load_workflows
from services.executor.catalog import action_catalog
from services.orchestrator.__main__ import run_until_stopped
from services.orchestrator.service import Orchestrator, connect_temporal
from tests.conftest import TemporalServer
from tests.orchestrator.conftest import unique_settings
from tests.shared.service_death import break_and_watch

pytestmark = pytest.mark.integration


async def stop_worker(orchestrator: Orchestrator) -> None:
    await orchestrator.worker.shutdown()  # its run() returns while the service goes on: the worker is gone


async def stop_consumer(orchestrator: Orchestrator) -> None:
    [subscriber] = orchestrator.broker.subscribers
    await subscriber.consumer.stop()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("breaking", "dead_part"),
    [(stop_worker, "Temporal workflow worker: ended"), (stop_consumer, "Kafka consumer of triggers-")],
    ids=["worker", "consumer"],
)
async def test_orchestrator_exits_when_an_inner_part_dies(
    kafka_bootstrap: str,
    temporal_server: TemporalServer,
    breaking: Callable[[Orchestrator], Awaitable[None]],
    dead_part: str,
) -> None:
    port = free_port()
    settings = unique_settings(kafka_bootstrap, temporal_server.address).model_copy(update={"health_port": port})
    await ensure_topics(settings.kafka, settings.topics.all(), 1)
    definitions = load_workflows(settings.workflows_dir, action_catalog)
    orchestrator = Orchestrator(settings, await connect_temporal(settings), definitions)
    death = await break_and_watch(
        run_until_stopped(orchestrator, asyncio.Event()), port, lambda: breaking(orchestrator)
    )
    assert isinstance(death.code, str), f"exited with {death.code!r}, not with a message (status 1)"
    assert death.code.startswith(f"orchestrator: exiting because an inner part died: {dead_part}"), death.code
    assert death.seen_503, "/healthz never answered 503 before the service exited"
