"""The orchestrator's real run loop on the real broker and Temporal server: when its workflow worker or its
trigger consumer dies, /healthz turns 503 and the service exits non-zero (``SystemExit`` with a message, status
1) instead of idling with a healthy face."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx
import pytest

from alertmesh.embedded import free_port
from alertmesh.kafka_tools import ensure_topics
from services.orchestrator.__main__ import run_until_stopped
from services.orchestrator.service import Orchestrator, connect_temporal
from tests.conftest import TemporalServer
from tests.orchestrator.conftest import unique_settings

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
    orchestrator = Orchestrator(settings, await connect_temporal(settings))
    service = asyncio.create_task(exit_code_of(run_until_stopped(orchestrator, asyncio.Event())))
    url = f"http://127.0.0.1:{port}/healthz"
    async with httpx.AsyncClient(timeout=5) as http:
        deadline = time.monotonic() + 60
        while not await answers(http, url, 200):
            assert not service.done(), service
            assert time.monotonic() < deadline, "orchestrator never became healthy"
            await asyncio.sleep(0.2)

        await breaking(orchestrator)

        seen_503 = False
        async with asyncio.timeout(30):
            while not service.done():
                seen_503 = seen_503 or await answers(http, url, 503)
                await asyncio.sleep(0.05)
    code = await service
    assert isinstance(code, str), f"exited with {code!r}, not with a message (status 1)"
    assert code.startswith(f"orchestrator: exiting because an inner part died: {dead_part}"), code
    assert seen_503, "/healthz never answered 503 before the service exited"


async def exit_code_of(service: Coroutine[Any, Any, None]) -> int | str | None:
    """The SystemExit code the service ended with (None if it returned): caught inside the task, because a
    SystemExit leaving a task would stop the test's event loop."""
    try:
        await service
    except SystemExit as exited:
        return exited.code
    return None


async def answers(http: httpx.AsyncClient, url: str, status: int) -> bool:
    try:
        return (await http.get(url)).status_code == status
    except httpx.TransportError:
        return False
