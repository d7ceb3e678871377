"""``core.kafka.publish`` against the real embedded broker (Tansu), in-process and from a Ray worker."""

from __future__ import annotations

import json
import uuid

import pytest

from alertmesh.kafka_tools import ensure_topics
from services.executor.actions import InvalidArguments, get_action
from services.executor.actions.context import producer_config, using_kafka
from services.executor.actions.kafka import publish
from services.executor.outcome import ActionLimits
from services.executor.ray_runner import run_action_task
from services.shared.kafka import KafkaSettings
from tests.ingest.kafka_io import read

pytestmark = pytest.mark.integration


async def test_publishes_a_json_event_with_key_and_headers(kafka_bootstrap: str) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"publish-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic], partitions=1)
    args = get_action("core.kafka.publish").parse_args(
        {"topic": topic, "value": {"alert": "x", "n": 1}, "key": "k1", "headers": {"source": "alertmesh"}}
    )
    with using_kafka(producer_config(settings)):
        written = await publish(args)  # type: ignore[arg-type]
    assert written == {"topic": topic, "partition": 0, "offset": 0}
    [record] = await read(kafka_bootstrap, topic, 1)
    assert (json.loads(record.value), record.key, list(record.headers)) == (
        {"alert": "x", "n": 1},
        b"k1",
        [("source", b"alertmesh")],
    )


async def test_a_ray_worker_publishes_to_the_broker_the_executor_names(kafka_bootstrap: str, ray_session: str) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"publish-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic], partitions=1)
    outcome = await run_action_task.remote(
        "core.kafka.publish", {"topic": topic, "value": [1, 2]}, ActionLimits(kafka=producer_config(settings))
    )
    assert outcome.ok, outcome.error_message
    [record] = await read(kafka_bootstrap, topic, 1)
    assert json.loads(record.value) == [1, 2] and record.key is None


def test_a_bad_topic_name_is_refused() -> None:
    with pytest.raises(InvalidArguments, match="topic"):
        get_action("core.kafka.publish").parse_args({"topic": "a b", "value": 1})
