"""Noise control through the real broker (embedded Tansu) and, for the dedup window, the real Temporal server with
the orchestrator: repeats cost no Temporal call, and the state survives an ingest restart."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings
from tests.conftest import TemporalServer
from tests.ingest.conftest import sample
from tests.ingest.kafka_io import create_topics, end_offset, produce_all, read, unique_topics
from tests.orchestrator.conftest import Mesh, running_mesh
from tests.orchestrator.test_app_integration import executions

pytestmark = pytest.mark.integration
#: The sample's startsAt as keys write it.
STARTS = "20230206T130845.828Z"

ROUTING = """
routes:
  - name: everything
    match: {status: [firing, resolved]}
    workflow: triage
    inputs: {team: on-call, page: false}
    # The resolved alert below comes after its firing run finished: run the workflow for it, so its result shows
    # the status change passed the window.
    on_resolved_finished: start
"""

GROUPING = """
routes:
  - name: probes
    match: {name: ProbeFailure}
    workflow: triage
    group_by: [alertname, job]
    group_wait: {wait}
    group_interval: 60
  - name: everything
    match: {status: [firing, resolved]}
    workflow: triage
"""


def alertmanager(fingerprint: str, status: str = "firing", instance: str = "https://server.example.org") -> bytes:
    """The Alertmanager sample with its one alert given this fingerprint, status and instance label."""
    document: dict[str, Any] = orjson.loads(sample("alertmanager-v4-firing.json"))
    alert = document["alerts"][0]
    alert["fingerprint"], alert["status"], document["status"] = fingerprint, status, status
    alert["labels"] = {**alert["labels"], "instance": instance}
    return orjson.dumps(document)


@contextlib.asynccontextmanager
async def running_ingest(settings: IngestSettings) -> AsyncIterator[None]:
    app, _ = build_app(settings)
    await app.start()
    try:
        yield
    finally:
        await app.stop()


def ingest_settings(bootstrap: str, topics: TopicSettings, routing: Path, group_id: str) -> IngestSettings:
    return IngestSettings(
        group_id=group_id,
        routing_file=routing,
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        topics=topics,
        group_tick_s=0.2,
    )


async def records_on(bootstrap: str, topic: str, settle_s: float = 1.0) -> list[ConsumerRecord[Any, Any]]:
    """Every record on partition 0 of ``topic``: read until none came for ``settle_s``. (Tansu's end offset counts a
    batch of records as one, so ``end_offset`` cannot count records written together.)"""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        where = TopicPartition(topic, 0)
        consumer.assign([where])
        await consumer.seek_to_beginning(where)
        records: list[ConsumerRecord[Any, Any]] = []
        while batch := await consumer.getmany(where, timeout_ms=int(settle_s * 1000)):
            records.extend(batch[where])
        return records
    finally:
        await consumer.stop()


async def results_for(mesh: Mesh, count: int) -> list[str]:
    events = await mesh.read(mesh.settings.topics.results, WorkflowResult, count, timeout=90)
    return [event.data.workflow_id for event, _ in events]  # type: ignore[attr-defined]


async def test_fifty_identical_alerts_start_one_workflow_and_the_window_survives_a_restart(
    kafka_bootstrap: str, temporal_server: TemporalServer, tmp_path: Path
) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING)
    fingerprint, tag = uuid.uuid4().hex[:16], uuid.uuid4().hex[:6]
    async with running_mesh(kafka_bootstrap, temporal_server.address) as mesh:
        topics = mesh.settings.topics.model_copy(update={"ingest_state": f"state-{tag}"})
        settings = ingest_settings(kafka_bootstrap, topics, routing, f"ingest-{tag}")
        # Count the orchestrator's calls to Temporal (the client is real; this only counts what goes through).
        client = mesh.orchestrator.client
        starts: list[str] = []
        start_workflow = client.start_workflow

        async def counting_start(*args: Any, **kwargs: Any) -> Any:
            starts.append(kwargs["id"])
            return await start_workflow(*args, **kwargs)

        client.start_workflow = counting_start  # type: ignore[method-assign]
        firing = alertmanager(fingerprint)
        key, sentinel_a, sentinel_b = (
            f"triage:alertmanager:{name}:firing:{STARTS}" for name in (fingerprint, f"a-{tag}", f"b-{tag}")
        )

        await produce_all(kafka_bootstrap, topics.raw, [firing] * 50 + [alertmanager(f"a-{tag}")])
        async with running_ingest(settings):
            assert set(await results_for(mesh, 2)) == {key, sentinel_a}
        assert (
            len(await records_on(kafka_bootstrap, topics.triggers)) == 2
        )  # one trigger for the 50, one for the sentinel
        assert starts == [key, sentinel_a]

        # A new ingest process (same group) knows only what the state topic holds: the repeats stay dropped, the
        # status change passes.
        resolved = alertmanager(fingerprint, status="resolved")
        await produce_all(kafka_bootstrap, topics.raw, [firing] * 50 + [resolved, alertmanager(f"b-{tag}")])
        async with running_ingest(settings):
            ids = await results_for(mesh, 4)
        assert set(ids[2:]) == {f"triage:alertmanager:{fingerprint}:resolved:{STARTS}", sentinel_b}
        assert len(await records_on(kafka_bootstrap, topics.triggers)) == 4
        assert len(starts) == 4 and starts.count(key) == 1  # 100 firing copies, one Temporal call
        assert await executions(client, key) == 1


@pytest.fixture
async def topics(kafka_bootstrap: str) -> TopicSettings:
    created = unique_topics()
    await create_topics(kafka_bootstrap, created)
    return created


async def test_a_group_becomes_one_trigger_carrying_every_alert(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text(GROUPING.replace("{wait}", "1"))
    settings = ingest_settings(kafka_bootstrap, topics, routing, f"ingest-{uuid.uuid4().hex[:6]}")
    instances = [f"https://server-{index}.example.org" for index in range(5)]
    payloads = [alertmanager(uuid.uuid4().hex[:16], instance=instance) for instance in instances]
    async with running_ingest(settings):
        await produce_all(kafka_bootstrap, topics.raw, payloads)
        [record] = await read(kafka_bootstrap, topics.triggers, 1)
        trigger = WorkflowTrigger.from_json(record.value)
        assert len(await records_on(kafka_bootstrap, topics.triggers, settle_s=1.5)) == 1  # and no second one
    assert [alert.labels["instance"] for alert in trigger.data.alerts] == instances
    assert trigger.data.alert == trigger.data.alerts[0]
    assert trigger.data.route == "probes" and record.key == trigger.data.idempotency_key.encode()
    assert trigger.data.idempotency_key.startswith("triage:group:probes:")


async def test_a_pending_group_survives_an_ingest_restart(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text(GROUPING.replace("{wait}", "8"))
    settings = ingest_settings(kafka_bootstrap, topics, routing, f"ingest-{uuid.uuid4().hex[:6]}")
    payloads = [alertmanager(uuid.uuid4().hex[:16], instance=f"https://server-{index}") for index in range(3)]
    async with running_ingest(settings):
        await produce_all(kafka_bootstrap, topics.raw, payloads)
        async with asyncio.timeout(30):  # held in the group: its state is written, the records committed
            while await end_offset(kafka_bootstrap, topics.ingest_state) < 1:
                await asyncio.sleep(0.1)
    assert await records_on(kafka_bootstrap, topics.triggers) == []  # stopped before group_wait ended
    async with running_ingest(settings):  # a new process: the group comes back from the state topic
        [record] = await read(kafka_bootstrap, topics.triggers, 1, timeout=60)
    trigger = WorkflowTrigger.from_json(record.value)
    assert sorted(alert.labels["instance"] for alert in trigger.data.alerts) == [
        f"https://server-{index}" for index in range(3)
    ]


async def test_an_alert_too_large_to_group_is_dead_lettered_and_the_partition_moves_on(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    """The audit's stall: a 400 KB fingerprint on a group_by route. Its trigger fits (0.8 MB), but its grouping
    state entry was 1.2 MB: Kafka refused it for good, the batch was rewound and read again forever. Now it is
    dead-lettered (stage noise, the reason names the size) and the next alert on the partition is grouped and
    flushed."""
    routing = tmp_path / "routing.yaml"
    routing.write_text(GROUPING.replace("{wait}", "1"))
    settings = ingest_settings(kafka_bootstrap, topics, routing, f"ingest-{uuid.uuid4().hex[:6]}")
    big, good = alertmanager("f" * 400_000), alertmanager(uuid.uuid4().hex[:16])
    async with running_ingest(settings):
        await produce_all(kafka_bootstrap, topics.raw, [big, good])
        [record] = await read(kafka_bootstrap, topics.triggers, 1, timeout=60)
        [dead] = await read(kafka_bootstrap, topics.dlq, 1, timeout=60)
    trigger = WorkflowTrigger.from_json(record.value)
    assert [alert.fingerprint for alert in trigger.data.alerts] == [orjson.loads(good)["alerts"][0]["fingerprint"]]
    letter = DeadLetter.from_json(dead.value)
    assert letter.data.stage == "noise" and letter.data.original_offset == 0
    assert "group_by route probes" in letter.data.reason and "over the 1048576-byte limit" in letter.data.reason
    # Noise control is ingest's stage 2: the letter keeps the routed record (the alert's trigger, its raw alert in
    # it; cut here, at 0.8 MB), which `alertmesh dlq replay` sends back to the routed topic.
    assert letter.data.original_topic == topics.routed and letter.data.original_size > len(big)
