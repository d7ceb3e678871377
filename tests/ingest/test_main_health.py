"""The ingest service's real run loop, on the real broker: when its consumer dies, /healthz turns 503 and the
service exits non-zero (``SystemExit`` with a message, status 1) instead of idling with a healthy face."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertmesh.embedded import free_port
from services.ingest.__main__ import run
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.shared.kafka import KafkaSettings
from tests.ingest.kafka_io import create_topics, unique_topics

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


async def test_ingest_exits_when_its_kafka_consumer_is_stopped(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    port = free_port()
    settings = IngestSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        topics=topics,
        group_id=f"health-{tmp_path.name}",
        routing_file=REPO / "routing.yaml",
        health_port=port,
    )
    app, broker = build_app(settings)
    service = asyncio.create_task(exit_code_of(run(app, broker, settings, asyncio.Event())))
    url = f"http://127.0.0.1:{port}/healthz"
    async with httpx.AsyncClient(timeout=5) as http:
        deadline = time.monotonic() + 60
        while not await answers(http, url, 200):
            assert not service.done(), service
            assert time.monotonic() < deadline, "ingest never became healthy"
            await asyncio.sleep(0.2)

        # Break the consumer alone: stopped underneath FastStream, its loop returns and is not restarted.
        [subscriber] = broker.subscribers
        await subscriber.consumer.stop()  # type: ignore[attr-defined]

        seen_503 = False
        async with asyncio.timeout(30):
            while not service.done():
                seen_503 = seen_503 or await answers(http, url, 503)
                await asyncio.sleep(0.05)
    code = await service
    assert isinstance(code, str), "a message (the process's status is then 1)"
    assert code.startswith("ingest: exiting because an inner part died: Kafka consumer of")
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
