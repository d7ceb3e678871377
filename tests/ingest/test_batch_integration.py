"""Batches on the real (embedded Tansu) broker: poison in the middle of a batch never costs its neighbours, and a
batch whose writes fail is not committed but read again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import orjson
import pytest

from schemas import DeadLetter, WorkflowTrigger
from services.ingest import emitter
from services.ingest.app import build_app
from services.shared.backoff import Backoff, GaveUp
from services.shared.consuming import Outgoing, Publisher
from services.shared.kafka import running_producer
from tests.ingest.kafka_io import committed, create_topics, fresh_ingest_settings, produce_all, read

pytestmark = pytest.mark.integration


def alert(name: str) -> bytes:
    """An Alertmanager v4 message with one critical alert named ``name`` (its own fingerprint): routed to triage."""
    item = {"status": "firing", "labels": {"alertname": name, "severity": "critical"}, "fingerprint": name}
    return orjson.dumps({"version": "4", "status": "firing", "alerts": [item]})


async def wait_committed(bootstrap: str, group_id: str, topic: str, offset: int) -> None:
    async with asyncio.timeout(30):
        while await committed(bootstrap, group_id, topic) != offset:
            await asyncio.sleep(0.2)


async def test_poison_in_the_middle_of_a_batch_is_dead_lettered_and_every_neighbour_triggered(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fresh_ingest_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.topics)
    values = [alert("A0"), alert("A1"), b"{poison", alert("A3"), alert("A4")]
    await produce_all(kafka_bootstrap, settings.topics.raw, values)  # all there before ingest's first fetch
    app, _ = build_app(settings)
    with caplog.at_level(logging.INFO, logger="services.ingest"):
        await app.start()
        try:
            triggers = await read(kafka_bootstrap, settings.topics.triggers, 4)
            [dead] = await read(kafka_bootstrap, settings.topics.dlq, 1)
            await wait_committed(kafka_bootstrap, settings.group_id, settings.topics.raw, len(values))
        finally:
            await app.stop()
    names = [WorkflowTrigger.from_json(record.value).data.alert.name for record in triggers]
    assert names == ["A0", "A1", "A3", "A4"]
    letter = DeadLetter.from_json(dead.value)
    assert (letter.data.stage, letter.data.original, letter.data.original_offset) == ("parse", b"{poison", 2)
    # One handler call took the whole batch.
    assert "5 records: 4 triggers written, 1 dead letters" in caplog.messages


async def test_a_batch_whose_writes_fail_is_not_committed_and_is_read_again(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_ingest_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.topics)
    real = emitter.publish_all_durably
    failing, release = asyncio.Event(), asyncio.Event()
    calls: list[int] = []

    async def kafka_fails_midway(
        publisher: Publisher, messages: Sequence[Outgoing], backoff: Backoff, *, service: str
    ) -> list[BaseException | None]:
        if publisher._topic != settings.topics.routed:  # type: ignore[attr-defined]  # stage 2 writes on
            return await real(publisher, messages, backoff, service=service)
        calls.append(len(messages))
        if len(calls) > 1:
            return await real(publisher, messages, backoff, service=service)
        # Stage 1: the first two routed records are written, then Kafka is gone.
        await real(publisher, messages[:2], backoff, service=service)
        failing.set()
        await release.wait()
        raise GaveUp("publishing failed for the whole retry budget (injected)")

    monkeypatch.setattr(emitter, "publish_all_durably", kafka_fails_midway)
    values = [alert(f"B{index}") for index in range(4)]
    await produce_all(kafka_bootstrap, settings.topics.raw, values)
    app, _ = build_app(settings)
    await app.start()
    try:
        await asyncio.wait_for(failing.wait(), timeout=30)
        assert await committed(kafka_bootstrap, settings.group_id, settings.topics.raw) is None
        release.set()
        await wait_committed(kafka_bootstrap, settings.group_id, settings.topics.raw, len(values))
        # The first two were written twice (the batch was read again), with the same keys...
        routed = await read(kafka_bootstrap, settings.topics.routed, 6)
        triggers = await read(kafka_bootstrap, settings.topics.triggers, 4)
    finally:
        await app.stop()
    assert calls[0] == 4 and sum(calls[1:]) == 4
    assert [record.key for record in routed[:2]] == [record.key for record in routed[2:4]]
    # ...and stage 2 made one trigger of each alert: the dedup window absorbed the second copies.
    assert len({record.key for record in triggers}) == 4


async def test_triggers_go_straight_to_the_brokers_own_producer(kafka_bootstrap: str) -> None:
    # Falling back to FastStream's publish pipeline would still be correct, only slower: this says when a FastStream
    # release moved its producer (see services.shared.kafka.running_producer).
    settings = fresh_ingest_settings(kafka_bootstrap)
    await create_topics(kafka_bootstrap, settings.topics)
    app, broker = build_app(settings)
    assert running_producer(broker) is None
    await app.start()
    try:
        assert running_producer(broker) is not None
    finally:
        await app.stop()
