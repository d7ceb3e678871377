"""``kafka_tools.read`` on the real (embedded Tansu) broker."""

from __future__ import annotations

import uuid

import pytest

from alertmesh import kafka_tools
from bench.kafka_io import publish_all
from services.shared.kafka import KafkaSettings

pytestmark = pytest.mark.integration


async def test_reading_to_the_end_gets_every_record_of_multi_record_batches(kafka_bootstrap: str) -> None:
    # Tansu reports a partition's end as its last batch's first offset + 1; reading up to it still fetches that
    # last batch whole, so nothing is missed.
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"read-to-end-{uuid.uuid4().hex[:8]}"
    await kafka_tools.ensure_topics(kafka, [topic], 2)
    values = [b"%d" % n for n in range(600)]
    await publish_all(kafka, topic, values)  # all in flight at once: many records per batch
    read = [value async for value in kafka_tools.read(kafka, topic, follow=False, timeout_s=30)]
    assert sorted(read) == sorted(values)


async def test_end_offsets_tail_and_group_lag_count_every_record_of_the_last_batch(kafka_bootstrap: str) -> None:
    # ListOffsets on Tansu says 1 for 5 records written as one batch; the fetch's high watermark says 5.
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"tail-{uuid.uuid4().hex[:8]}"
    await kafka_tools.ensure_topics(kafka, [topic], 1)
    values = [b"v%d" % n for n in range(5)]
    await publish_all(kafka, topic, values)
    assert await kafka_tools.end_offsets(kafka, topic) == {0: 5}
    assert await kafka_tools.tail(kafka, topic, 3) == (values[2:], 5)
    assert await kafka_tools.group_lag(kafka, f"group-{topic}", topic) == {0: (None, 5)}
