"""The consumer app against the real (embedded Tansu) Kafka broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from schemas import DeadLetter, WorkflowTrigger
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.ingest.defaults import ROUTING_FILE
from services.shared.kafka import KafkaSettings
from tests.ingest.kafka_io import (
    committed,
    create_topics,
    end_offset,
    fresh_ingest_settings,
    produce,
    read,
    unique_topics,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def ingest(kafka_bootstrap: str) -> AsyncIterator[IngestSettings]:
    """The ingest app running on fresh topics and a fresh consumer group; yields its settings."""
    settings = fresh_ingest_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.topics)
    app, _ = build_app(settings)
    await app.start()
    try:
        yield settings
    finally:
        await app.stop()


async def test_alert_becomes_trigger_and_offset_commits_only_after(
    ingest: IngestSettings, kafka_bootstrap: str, alertmanager_bytes: bytes
) -> None:
    topics = ingest.topics
    violations: list[tuple[int, int]] = []

    async def watch_commit_never_passes_trigger() -> None:
        # Each stage commits only after its next hop is durable: the raw record once its routed record is written,
        # the routed record once its trigger is. Sample the commit first, then the next topic: a commit made after
        # the write always sees it.
        hops = [(ingest.group_id, topics.raw, topics.routed), (ingest.decide_group_id, topics.routed, topics.triggers)]
        while True:
            done = []
            for group, consumed, next_hop in hops:
                position = await committed(kafka_bootstrap, group, consumed) or 0
                written = await end_offset(kafka_bootstrap, next_hop)
                if position > written:
                    violations.append((position, written))
                done.append(position >= 1)
            if all(done):
                return

    watcher = asyncio.create_task(watch_commit_never_passes_trigger())
    await produce(kafka_bootstrap, topics.raw, alertmanager_bytes, key=b"am",
                  headers=[("content-type", b"application/json")])  # fmt: skip
    [record] = await read(kafka_bootstrap, topics.triggers, 1)
    await asyncio.wait_for(watcher, timeout=30)

    trigger = WorkflowTrigger.from_json(record.value)
    assert record.key == b"triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z"
    assert trigger.data.idempotency_key == record.key.decode()
    assert trigger.data.alert.fingerprint == "1a30ba71cca2921f"
    assert dict(record.headers)["ce_type"] == b"alertmesh.trigger.v1"
    assert violations == []
    assert await committed(kafka_bootstrap, ingest.group_id, topics.raw) == 1


async def test_poison_is_dead_lettered_and_the_partition_moves_on(
    ingest: IngestSettings, kafka_bootstrap: str, cloudevent_bytes: bytes
) -> None:
    topics = ingest.topics
    # Not UTF-8 in the body nor in a header value: the edge must not choke on either.
    await produce(kafka_bootstrap, topics.raw, b"\xff\x00poison", key=b"bad", headers=[("x-junk", b"\xfe\xff")])
    await produce(kafka_bootstrap, topics.raw, cloudevent_bytes, headers=[("alertmesh-source", b"edr")])

    [dead] = await read(kafka_bootstrap, topics.dlq, 1)
    letter = DeadLetter.from_json(dead.value)
    assert dead.key == b"bad"
    assert letter.data.stage == "parse"
    assert "not valid UTF-8" in letter.data.reason
    assert letter.data.original == b"\xff\x00poison"
    assert (letter.data.original_topic, letter.data.original_offset) == (topics.raw, 0)

    [good] = await read(kafka_bootstrap, topics.triggers, 1)
    trigger = WorkflowTrigger.from_json(good.value)
    assert trigger.data.alert.source == "edr"
    assert trigger.data.workflow == "triage"

    async with asyncio.timeout(30):
        while await committed(kafka_bootstrap, ingest.group_id, topics.raw) != 2:
            await asyncio.sleep(0.2)


async def test_the_consumer_joins_its_group_with_the_configured_timing(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        session_timeout_ms=7_000,
        heartbeat_interval_ms=1_500,
        rebalance_timeout_ms=8_000,
        max_poll_interval_ms=90_000,
    )
    settings = IngestSettings(
        group_id=f"ingest-{uuid.uuid4().hex[:8]}",
        routing_file=ROUTING_FILE,
        kafka=kafka,
        topics=unique_topics(),
    )
    await create_topics(kafka_bootstrap, settings.topics)
    app, broker = build_app(settings)
    await app.start()
    try:
        for subscriber in broker.subscribers:  # both stages
            coordinator = subscriber.consumer._coordinator  # type: ignore[attr-defined]
            async with asyncio.timeout(60):  # joined the group on the real broker with these values
                while coordinator.member_id == "":
                    await asyncio.sleep(0.1)
            assert (coordinator._session_timeout_ms, coordinator._heartbeat_interval_ms) == (7_000, 1_500)
            assert (coordinator._rebalance_timeout_ms, coordinator._max_poll_interval) == (8_000, 90.0)
    finally:
        await app.stop()
