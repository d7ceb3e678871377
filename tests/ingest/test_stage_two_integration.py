"""Stage 2 through the real broker (embedded Tansu): an unkeyed librdkafka producer spreads records over every raw
partition, two ingest replicas share the partitions, and every piece of noise-control state still gives one answer:
dedup, grouping, silences, inhibition, time windows and thresholds."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas import WorkflowTrigger
from schemas.silence import Matcher
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.shared.alert_table import AlertTable
from services.shared.kafka import KafkaSettings
from services.shared.silences import Silences
from services.shared.topics import TopicSettings
from tests.ingest.conftest import sample

confluent_kafka = pytest.importorskip("confluent_kafka", reason="librdkafka's Python client (confluent-kafka)")
pytestmark = pytest.mark.integration
PARTITIONS = 4
REPLICAS = 2

EVERYTHING = """
routes:
  - name: everything
    match: {status: [firing, resolved]}
    workflow: triage
"""


def alert(name: str, fingerprint: str, status: str = "firing", **labels: str) -> bytes:
    """An Alertmanager notification of one alert."""
    document: dict[str, Any] = orjson.loads(sample("alertmanager-v4-firing.json"))
    entry = document["alerts"][0]
    entry["fingerprint"], entry["status"], document["status"] = fingerprint, status, status
    entry["labels"] = {"alertname": name, **labels}
    if status == "resolved":
        entry["endsAt"] = datetime.now(UTC).isoformat()
    return orjson.dumps(document)


def produce_unkeyed(bootstrap: str, topic: str, values: Sequence[bytes], timestamp_ms: int | None = None) -> list[int]:
    """Write ``values`` without keys through librdkafka (its default partitioner spreads them); the partitions
    they landed on."""
    # librdkafka's sticky partitioner would put one batch's unkeyed records on one partition: off, each record
    # goes to a random partition, the spread a busy unkeyed producer has over time.
    producer = confluent_kafka.Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "sticky.partitioning.linger.ms": 0}
    )
    landed: list[int] = []

    def delivered(error: Any, message: Any) -> None:
        assert error is None, error
        landed.append(message.partition())

    for value in values:
        extra = {"timestamp": timestamp_ms} if timestamp_ms is not None else {}
        producer.produce(topic, value, on_delivery=delivered, **extra)
    assert producer.flush(30) == 0
    return landed


async def records(bootstrap: str, topic: str, settle_s: float = 1.5) -> list[ConsumerRecord[Any, Any]]:
    """Every record on every partition of ``topic``, read until none came for ``settle_s``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        where = [TopicPartition(topic, partition) for partition in range(PARTITIONS)]
        consumer.assign(where)
        await consumer.seek_to_beginning(*where)
        found: list[ConsumerRecord[Any, Any]] = []
        while batch := await consumer.getmany(*where, timeout_ms=int(settle_s * 1000)):
            found.extend(record for part in batch.values() for record in part)
        return found
    finally:
        await consumer.stop()


async def triggers(bootstrap: str, topic: str, count: int, timeout: float = 45.0) -> list[WorkflowTrigger]:
    """The triggers on ``topic`` once at least ``count`` arrived, and none more came for a while."""
    async with asyncio.timeout(timeout):
        while len(found := await records(bootstrap, topic, settle_s=0.5)) < count:
            await asyncio.sleep(0.2)
    found = await records(bootstrap, topic, settle_s=2.0)
    return [WorkflowTrigger.from_json(record.value) for record in found]


@pytest.fixture
async def topics(kafka_bootstrap: str) -> TopicSettings:
    created = TopicSettings.tagged(uuid.uuid4().hex[:10])
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in created.all()])
    finally:
        await admin.close()
    return created


def settings_for(bootstrap: str, topics: TopicSettings, routing: Path, **extra: Any) -> IngestSettings:
    tag = uuid.uuid4().hex[:6]
    return IngestSettings(
        group_id=f"ingest-{tag}", decide_group_id=f"decide-{tag}", routing_file=routing,
        kafka=KafkaSettings(bootstrap_servers=bootstrap), topics=topics, group_tick_s=0.2, **extra,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def replicas(settings: IngestSettings) -> AsyncIterator[None]:
    """``REPLICAS`` ingest processes' apps of one consumer group each stage, sharing every partition."""
    apps = [build_app(settings)[0] for _ in range(REPLICAS)]
    await asyncio.gather(*(app.start() for app in apps))
    try:
        yield
    finally:
        await asyncio.gather(*(app.stop() for app in apps))


def routing_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    return path


async def test_thirty_unkeyed_repeats_spread_over_every_partition_start_one_trigger(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topics, routing_file(tmp_path, EVERYTHING))
    repeat, sentinel = alert("DiskFull", uuid.uuid4().hex[:16]), alert("Sentinel", uuid.uuid4().hex[:16])
    landed = await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, [repeat] * 30)
    assert len(set(landed)) > 1, "librdkafka spread the unkeyed records over several partitions"
    async with replicas(settings):
        await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, [sentinel])
        found = await triggers(kafka_bootstrap, topics.triggers, 2)
    assert sorted(trigger.data.alert.name for trigger in found) == ["DiskFull", "Sentinel"]


GROUPING = """
routes:
  - name: probes
    match: {name: ProbeFailure}
    workflow: triage
    group_by: [alertname, job]
    group_wait: 2
    group_interval: 60
"""


async def test_a_group_collects_its_members_from_every_partition(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topics, routing_file(tmp_path, GROUPING))
    members = [alert("ProbeFailure", uuid.uuid4().hex[:16], job="probe", instance=f"i-{n}") for n in range(8)]
    async with replicas(settings):
        landed = await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, members)
        [trigger] = await triggers(kafka_bootstrap, topics.triggers, 1)
    assert len(set(landed)) > 1
    assert sorted(member.labels["instance"] for member in trigger.data.alerts) == [f"i-{n}" for n in range(8)]


async def test_a_silenced_alert_starts_nothing_and_flows_when_the_silence_ends_while_it_fires(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topics, routing_file(tmp_path, EVERYTHING))
    silences = Silences(settings.kafka, topics.silences)
    await silences.start()
    try:
        now = datetime.now(UTC)
        silence = await silences.create(
            matchers=[Matcher(name="alertname", value="Noisy", is_regex=False)], starts_at=now,
            ends_at=now + timedelta(seconds=20), created_by="test", comment="maintenance", now=now,
        )  # fmt: skip
        noisy, quiet = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
        async with replicas(settings):
            await asyncio.to_thread(
                produce_unkeyed, kafka_bootstrap, topics.raw, [alert("Noisy", noisy)] * 5 + [alert("Other", quiet)]
            )
            [other] = await triggers(kafka_bootstrap, topics.triggers, 1)
            assert other.data.alert.name == "Other"  # the silence mutes only what it matches
            table = AlertTable(settings.kafka, topics.alerts)
            await table.start()
            try:
                [row] = [row for row in table.rows() if row.fingerprint == noisy]
                assert row.silenced_by == [silence.id]
            finally:
                await table.stop()
            # The silence ends while the alert still fires (no ends_at): the held alert starts its workflow, once.
            found = await triggers(kafka_bootstrap, topics.triggers, 2, timeout=45)
    finally:
        await silences.stop()
    assert sorted(trigger.data.alert.name for trigger in found) == ["Noisy", "Other"]


INHIBITION = """
inhibit_rules:
  - source_matchers: ['alertname="DatacenterDown"']
    target_matchers: ['severity="warning"']
    equal: [dc]
routes:
  - name: warnings
    match: {labels.severity: warning}
    workflow: triage
default: drop
"""


async def test_a_firing_source_alert_inhibits_its_targets_until_it_resolves(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topics, routing_file(tmp_path, INHIBITION))
    down = uuid.uuid4().hex[:16]
    muted, other = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    async with replicas(settings):
        # The source alert matches no route (default: drop): it inhibits all the same.
        await asyncio.to_thread(
            produce_unkeyed, kafka_bootstrap, topics.raw, [alert("DatacenterDown", down, dc="eu-1")]
        )
        await asyncio.sleep(2)  # its row reaches every replica's alerts table
        targets = [
            alert("Latency", muted, severity="warning", dc="eu-1"),
            alert("Latency", other, severity="warning", dc="us-1"),
        ]
        await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, targets)
        [first] = await triggers(kafka_bootstrap, topics.triggers, 1)
        assert first.data.alert.fingerprint == other  # another dc: not inhibited
        await asyncio.to_thread(
            produce_unkeyed, kafka_bootstrap, topics.raw, [alert("DatacenterDown", down, "resolved", dc="eu-1")]
        )
        found = await triggers(kafka_bootstrap, topics.triggers, 2)
    assert sorted(trigger.data.alert.fingerprint for trigger in found) == sorted([muted, other])


WINDOWS = """
time_intervals:
  - name: weekends
    time_intervals:
      - weekdays: [saturday, sunday]
routes:
  - name: weekdays-only
    match: {status: firing}
    workflow: triage
    mute_time_intervals: [weekends]
"""


async def test_time_windows_decide_on_the_record_time(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topics, routing_file(tmp_path, WINDOWS))
    saturday = int(datetime(2026, 12, 5, 12, tzinfo=UTC).timestamp() * 1000)
    monday = int(datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp() * 1000)
    on_saturday, on_monday = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    async with replicas(settings):
        await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, [alert("A", on_saturday)], saturday)
        await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, [alert("A", on_monday)], monday)
        found = await triggers(kafka_bootstrap, topics.triggers, 1)
    assert [trigger.data.alert.fingerprint for trigger in found] == [on_monday]


THRESHOLD = """
routes:
  - name: flapping
    match: {status: firing}
    workflow: triage
    threshold: {occurrences: 3, within: 10m}
"""


async def test_a_threshold_counts_occurrences_from_every_partition(
    kafka_bootstrap: str, topics: TopicSettings, tmp_path: Path
) -> None:
    # No dedup window, so every record of the alert is an occurrence: only the third within 10 minutes triggers.
    settings = settings_for(kafka_bootstrap, topics, routing_file(tmp_path, THRESHOLD), dedup_window_s=0)
    fingerprint = uuid.uuid4().hex[:16]
    async with replicas(settings):
        await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, [alert("Flaps", fingerprint)] * 2)
        await asyncio.sleep(3)
        assert await records(kafka_bootstrap, topics.triggers, settle_s=0.5) == []
        await asyncio.to_thread(produce_unkeyed, kafka_bootstrap, topics.raw, [alert("Flaps", fingerprint)])
        [trigger] = await triggers(kafka_bootstrap, topics.triggers, 1)
    assert trigger.data.alert.fingerprint == fingerprint
