"""``core.kafka.publish`` against the real embedded broker (Tansu), in-process and from a Ray worker."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertmesh.kafka_tools import ensure_topics
from services.executor.actions import InvalidArguments, get_action
from services.executor.actions.context import producer_config, using_kafka
from services.executor.actions.kafka import MeshTopicRefused, mesh_topics, publish, refusal, with_protected_topics
from services.executor.config import ExecutorSettings
from services.executor.outcome import ActionLimits
from services.executor.ray_runner import run_action_task
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings
from tests.ingest.kafka_io import end_offset, read
from tests.shared.strategies import FUZZ

integration = pytest.mark.integration
TOPIC_NAME = st.from_regex(r"[A-Za-z0-9._-]{1,40}", fullmatch=True)


def unique_topics() -> TopicSettings:
    """Mesh topic names of their own, as an operator may configure them (ALERTMESH_TOPIC_*)."""
    run = uuid.uuid4().hex[:8]
    names = {field: f"{run}.mesh.{field}" for field in TopicSettings.model_fields}
    return TopicSettings.model_validate(names)


async def publish_with(options: dict[str, Any], topic: str) -> dict[str, Any]:
    args = get_action("core.kafka.publish").parse_args({"topic": topic, "value": {"forged": True}})
    with using_kafka(options):
        return await publish(args)  # type: ignore[arg-type]


@integration
async def test_the_mesh_topics_are_refused_and_nothing_is_written(kafka_bootstrap: str) -> None:
    settings, topics = KafkaSettings(bootstrap_servers=kafka_bootstrap), unique_topics()
    await ensure_topics(settings, mesh_topics(topics), partitions=1)
    options = with_protected_topics(producer_config(settings), topics, allow_mesh_topics=False)
    for topic in mesh_topics(topics):
        with pytest.raises(MeshTopicRefused, match=f"{topic!r} is one of the mesh's own topics.*ALLOW_MESH_TOPICS"):
            await publish_with(options, topic)
        assert await end_offset(kafka_bootstrap, topic) == 0, f"{topic} was written"


@integration
async def test_the_setting_allows_the_mesh_topics(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    topics = unique_topics()
    for field, name in topics.model_dump().items():
        monkeypatch.setenv(f"ALERTMESH_TOPIC_{field.upper()}", name)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    await ensure_topics(KafkaSettings(bootstrap_servers=kafka_bootstrap), [topics.triggers], partitions=1)
    refused = ExecutorSettings().action_limits().kafka
    assert refused is not None
    with pytest.raises(MeshTopicRefused):
        await publish_with(dict(refused), topics.triggers)
    monkeypatch.setenv("EXECUTOR_KAFKA_PUBLISH_ALLOW_MESH_TOPICS", "true")
    allowed = ExecutorSettings().action_limits().kafka
    assert allowed is not None
    assert await publish_with(dict(allowed), topics.triggers) == {"topic": topics.triggers, "partition": 0, "offset": 0}


@integration
async def test_a_ray_worker_refuses_the_topics_the_executor_names(kafka_bootstrap: str, ray_session: str) -> None:
    """The names are the executor's settings, not the Ray worker's environment (another machine on a cluster)."""
    settings, topics = KafkaSettings(bootstrap_servers=kafka_bootstrap), unique_topics()
    await ensure_topics(settings, [topics.results], partitions=1)
    options = with_protected_topics(producer_config(settings), topics, allow_mesh_topics=False)
    outcome = await run_action_task.remote(
        "core.kafka.publish", {"topic": topics.results, "value": {"status": "forged"}}, ActionLimits(kafka=options)
    )
    assert not outcome.ok and "one of the mesh's own topics" in (outcome.error_message or "")
    assert await end_offset(kafka_bootstrap, topics.results) == 0


@integration
async def test_without_executor_settings_this_process_topic_names_are_refused(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTMESH_TOPIC_DLQ", "custom.dead-letters")
    with pytest.raises(MeshTopicRefused, match=r"custom\.dead-letters"):
        await publish_with(producer_config(KafkaSettings(bootstrap_servers=kafka_bootstrap)), "custom.dead-letters")


@FUZZ
@given(
    names=st.fixed_dictionaries({field: TOPIC_NAME for field in TopicSettings.model_fields}),
    other=TOPIC_NAME,
    allow=st.booleans(),
)
def test_every_configured_mesh_topic_and_no_other_is_refused(names: dict[str, str], other: str, allow: bool) -> None:
    topics = TopicSettings.model_validate(names)
    protected = with_protected_topics({}, topics, allow_mesh_topics=allow)["alertmesh_protected_topics"]
    for name in names.values():
        assert (refusal(name, protected) is not None) == (not allow or name.startswith("__"))
    if other not in names.values():
        assert (refusal(other, protected) is None) == (not other.startswith("__"))


@pytest.mark.parametrize("topic", ["__consumer_offsets", "__transaction_state"])
def test_kafka_internal_topics_are_refused_even_when_mesh_topics_are_allowed(topic: str) -> None:
    assert refusal(topic, []) == f"{topic!r} is internal to Kafka"


@integration
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


@integration
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
