"""The bench's Kafka side on the real (embedded Tansu) broker: topics are counted by their records even when they
were written in batches, and the raw loop copies every record and commits it."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from alertmesh import kafka_tools
from bench.kafka_io import publish_all, topic_size, watch_growth
from bench.raw_copy import copy
from services.shared.kafka import KafkaSettings

pytestmark = pytest.mark.integration
PARTITIONS = 3


async def test_batched_writes_are_all_counted(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"bench-count-{uuid.uuid4().hex[:8]}"
    await kafka_tools.ensure_topics(kafka, [topic], PARTITIONS)
    await publish_all(kafka, topic, [b"%d" % n for n in range(3000)])  # all in flight: many records per batch
    assert await topic_size(kafka, topic) == 3000
    progress = await watch_growth(kafka, topic, 1000, 2000, timeout_s=30)
    assert progress.done_at is not None and progress.reached == 2000


async def test_the_raw_loop_copies_every_record_and_commits_them(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    tag = uuid.uuid4().hex[:8]
    source, target, group = f"bench-src-{tag}", f"bench-dst-{tag}", f"bench-copy-{tag}"
    await kafka_tools.ensure_topics(kafka, [source, target], PARTITIONS)
    await publish_all(kafka, source, [b"%d" % n for n in range(700)])
    await copy(kafka, source, target, group, 700, batch=100)
    assert await topic_size(kafka, target) == 700
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        committed = [await consumer.committed(TopicPartition(source, p)) for p in range(PARTITIONS)]
    finally:
        await consumer.stop()
    assert sum(offset or 0 for offset in committed) == 700
