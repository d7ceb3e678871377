"""The consumer app against FastStream's in-memory TestKafkaBroker."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber, LogicSubscriber
from faststream.middlewares import AckPolicy

from alertmesh.samples import sample
from schemas import DeadLetter, WorkflowTrigger
from services.ingest.app import build_app as ingest_app
from services.ingest.config import IngestSettings
from services.ingest.defaults import FIELD_MAPS_FILE, ROUTING_FILE
from services.ingest.parsers.field_maps import FieldMapFileError
from services.ingest.routing import RoutingFileError
from services.shared.alert_table import AlertTable
from services.shared.silences import Silences
from services.shared.topics import TopicSettings

TOPICS = TopicSettings(raw="t.raw", triggers="t.triggers", dlq="t.dlq")


def build_app(settings: IngestSettings) -> tuple[Any, KafkaBroker]:
    """The app with in-memory global tables (silences, alerts): FastStream's test broker has no topics to read."""
    return ingest_app(settings, silences=Silences.in_memory(), alerts=AlertTable.in_memory())


class Captured:
    def __init__(self) -> None:
        self.triggers: list[tuple[bytes, WorkflowTrigger]] = []
        self.dead_letters: list[tuple[bytes, DeadLetter]] = []


@pytest.fixture
async def running() -> AsyncIterator[tuple[KafkaBroker, Captured]]:
    # Dedup keeps its state on the real broker (tests/ingest/test_noise_integration.py); off against the fake one.
    _, broker = build_app(IngestSettings(routing_file=ROUTING_FILE, topics=TOPICS, dedup_window_s=0))
    captured = Captured()

    @broker.subscriber(TOPICS.triggers)
    async def on_trigger(message: KafkaMessage) -> None:
        captured.triggers.append((message.raw_message.key, WorkflowTrigger.from_json(message.body)))  # type: ignore[union-attr]

    @broker.subscriber(TOPICS.dlq)
    async def on_dead_letter(message: KafkaMessage) -> None:
        captured.dead_letters.append((message.raw_message.key, DeadLetter.from_json(message.body)))  # type: ignore[union-attr]

    async with TestKafkaBroker(broker) as test_broker:
        yield test_broker, captured


async def test_alert_is_published_as_trigger_keyed_by_idempotency_key(
    running: tuple[KafkaBroker, Captured], alertmanager_bytes: bytes
) -> None:
    broker, captured = running
    await broker.publish(alertmanager_bytes, TOPICS.raw, headers={"content-type": "application/json"})
    [(key, trigger)] = captured.triggers
    assert key == b"triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z"
    assert trigger.data.idempotency_key == key.decode()
    assert trigger.data.route == "critical"
    assert captured.dead_letters == []


async def test_garbage_goes_to_dead_letters_and_the_next_alert_still_flows(
    running: tuple[KafkaBroker, Captured], cloudevent_bytes: bytes
) -> None:
    broker, captured = running
    await broker.publish(b"{garbage", TOPICS.raw, key=b"poison", headers={"content-type": "application/json"})
    await broker.publish(cloudevent_bytes, TOPICS.raw, headers={"alertmesh-source": "edr"})
    [(key, letter)] = captured.dead_letters
    assert key == b"poison"
    assert letter.data.stage == "parse"
    assert letter.data.original == b"{garbage"
    [(_, trigger)] = captured.triggers
    assert trigger.data.alert.source == "edr"
    assert trigger.data.route == "catch-all"


async def test_a_batch_with_poison_in_the_middle_triggers_every_neighbour(
    running: tuple[KafkaBroker, Captured], alertmanager_bytes: bytes, cloudevent_bytes: bytes
) -> None:
    broker, captured = running
    await broker.publish_batch(alertmanager_bytes, b"{garbage", cloudevent_bytes, topic=TOPICS.raw)
    [(_, letter)] = captured.dead_letters
    assert (letter.data.stage, letter.data.original) == ("parse", b"{garbage")
    assert [trigger.data.route for _, trigger in captured.triggers] == ["critical", "catch-all"]


def test_batch_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="batch_max_records"):
        IngestSettings(batch_max_records=0)
    with pytest.raises(ValueError, match="batch_max_records"):
        IngestSettings(batch_max_records=100_000)


async def test_grafana_becomes_a_trigger(running: tuple[KafkaBroker, Captured], grafana_bytes: bytes) -> None:
    broker, captured = running
    await broker.publish(grafana_bytes, TOPICS.raw, headers={"alertmesh-source": "grafana"})
    [(_, trigger)] = captured.triggers
    assert (trigger.data.alert.format, trigger.data.alert.name) == ("grafana.v1", "High memory usage")
    assert captured.dead_letters == []


def test_bad_routing_file_fails_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yaml"
    bad.write_text("routes: [{name: r}]\n")
    with pytest.raises(RoutingFileError, match=str(bad)):
        build_app(IngestSettings(routing_file=bad, topics=TOPICS))


def test_both_stages_take_batches_and_commit_only_after_the_handler() -> None:
    settings = IngestSettings(
        routing_file=ROUTING_FILE, topics=TOPICS, group_id="g-1", decide_group_id="g-2", batch_max_records=7
    )
    _, broker = build_app(settings)
    by_group = {subscriber.group_id: subscriber for subscriber in broker.subscribers}  # type: ignore[attr-defined]
    for group, topic in (("g-1", TOPICS.raw), ("g-2", TOPICS.routed)):
        found = by_group[group]
        assert isinstance(found, BatchSubscriber)
        assert found.max_records == 7
        subscriber: LogicSubscriber[Any] = found
        assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR
        options = subscriber._connection_args  # what the aiokafka consumer is built with
        assert options["enable_auto_commit"] is False
        assert options["auto_offset_reset"] == "earliest"
        assert subscriber.group_id == group
        assert [found.name for found in subscriber.topics] == [topic]


async def test_a_source_with_a_field_map_becomes_triggers() -> None:
    settings = IngestSettings(
        routing_file=ROUTING_FILE, field_maps_file=FIELD_MAPS_FILE, topics=TOPICS, dedup_window_s=0
    )
    _, broker = build_app(settings)
    triggers: list[WorkflowTrigger] = []

    @broker.subscriber(TOPICS.triggers)
    async def on_trigger(message: KafkaMessage) -> None:
        triggers.append(WorkflowTrigger.from_json(message.body))

    async with TestKafkaBroker(broker) as test_broker:
        body = sample("generic-edr-detections.json").read_bytes()
        await test_broker.publish(body, TOPICS.raw, headers={"alertmesh-source": "edr"})
    assert [(t.data.alert.format, t.data.alert.fingerprint) for t in triggers] == [
        ("generic", "812734"),
        ("generic", "812735"),
    ]


def test_bad_field_map_file_fails_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "maps.yaml"
    bad.write_text("sources: {edr: {}}\n")
    with pytest.raises(FieldMapFileError, match=str(bad)):
        build_app(IngestSettings(routing_file=ROUTING_FILE, field_maps_file=bad, topics=TOPICS))
