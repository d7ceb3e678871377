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
