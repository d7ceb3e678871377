"""The ingest service's real run loop, on the real broker: when its consumer dies, /healthz turns 503 and the
service exits non-zero (``SystemExit`` with a message, status 1) instead of idling with a healthy face."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from alertmesh.stack.embedded import free_port
from services.ingest.__main__ import run
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.ingest.defaults import ROUTING_FILE
from services.shared.kafka import KafkaSettings
from tests.ingest.kafka_io import create_topics, unique_topics
from tests.shared.service_death import break_and_watch

pytestmark = pytest.mark.integration


async def test_ingest_exits_when_its_kafka_consumer_is_stopped(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    port = free_port()
    settings = IngestSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        topics=topics,
        group_id=f"health-{tmp_path.name}",
        routing_file=ROUTING_FILE,
        health_port=port,
    )
    app, broker = build_app(settings)
    subscriber = broker.subscribers[0]  # stage 1; the watchdog watches every consumer

    async def stop_consumer() -> None:
        # Stopped underneath FastStream: its loop returns and is not restarted.
        await subscriber.consumer.stop()  # type: ignore[attr-defined]

    death = await break_and_watch(run(app, broker, settings, asyncio.Event()), port, stop_consumer)
    assert isinstance(death.code, str), "a message (the process's status is then 1)"
    assert death.code.startswith("ingest: exiting because an inner part died: Kafka consumer of")
    assert death.seen_503, "/healthz never answered 503 before the service exited"
