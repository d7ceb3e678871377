"""``core.kafka.publish``: produce one event to a Kafka topic (hand an alert to another system, fan work out).

The broker is the mesh's own (the executor's KAFKA_* settings, sent to the Ray worker with each action), never
one named in the workflow: a workflow cannot make the executor connect to an arbitrary host this way. The write
waits for acks=all, so a success means the record is durable.

It never writes the mesh's own topics (alerts in, triggers, results, dead letters, ingest's state: every name in
``ALERTMESH_TOPIC_*``, as configured) nor Kafka's internal ones (``__*``), unless
``EXECUTOR_KAFKA_PUBLISH_ALLOW_MESH_TOPICS`` allows the mesh's: a workflow's data comes from alerts, so writing
there would let an alert forge triggers (start any workflow), results or state.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from services.executor.actions.context import current_kafka
from services.executor.actions.registry import action

if TYPE_CHECKING:
    from services.shared.topics import TopicSettings

#: The setting that lets ``core.kafka.publish`` write the mesh's own topics; named in every refusal.
ALLOW_MESH_TOPICS_SETTING = "EXECUTOR_KAFKA_PUBLISH_ALLOW_MESH_TOPICS"
#: Key of the producer options (``ActionLimits.kafka``) that carries the topics publishing refuses; taken out before
#: the producer sees the options. It travels with them because the names are the executor's settings, and a Ray
#: worker may run on a machine whose environment names other topics.
PROTECTED_TOPICS_OPTION = "alertmesh_protected_topics"


class MeshTopicRefused(Exception):
    """A workflow tried to publish to one of the mesh's own topics (or a Kafka-internal one)."""


def mesh_topics(topics: TopicSettings) -> list[str]:
    """Every topic the mesh reads or writes, by its configured name (each ``ALERTMESH_TOPIC_*`` setting)."""
    return [getattr(topics, name) for name in type(topics).model_fields]


def with_protected_topics(
    producer: dict[str, Any], topics: TopicSettings, *, allow_mesh_topics: bool
) -> dict[str, Any]:
    """``producer`` options plus the topics ``core.kafka.publish`` must refuse (none of the mesh's when allowed)."""
    return {**producer, PROTECTED_TOPICS_OPTION: [] if allow_mesh_topics else mesh_topics(topics)}


def refusal(topic: str, protected: list[str]) -> str | None:
    """Why ``core.kafka.publish`` may not write ``topic`` (one of ``protected``, or Kafka-internal), or None."""
    if topic.startswith("__"):
        return f"{topic!r} is internal to Kafka"
    if topic in protected:
        return f"{topic!r} is one of the mesh's own topics; allow writing them with {ALLOW_MESH_TOPICS_SETTING}=true"
    return None


class KafkaPublishArgs(BaseModel):
    """Arguments of ``core.kafka.publish``: one record to write."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(pattern=r"^[A-Za-z0-9._-]{1,249}$", description="Topic to write to (it must exist).")
    value: Any = Field(description="The event: any JSON value, written as compact JSON.")
    key: str | None = Field(None, description="Record key (records with the same key keep their order).")
    headers: dict[str, str] = Field(default_factory=dict, description="Record headers.")


@action("core.kafka.publish", description="Produce one JSON event to a Kafka topic of the mesh's broker (acks=all).")
async def publish(args: KafkaPublishArgs) -> dict[str, Any]:
    """Write ``value`` to ``topic``; the result is ``{topic, partition, offset}`` of the written record."""
    from aiokafka import AIOKafkaProducer  # in the worker only when an action publishes

    options = current_kafka()
    protected = options.pop(PROTECTED_TOPICS_OPTION, None)
    if protected is None:  # no executor settings came with the action: refuse this process's own topic names
        from services.shared.topics import TopicSettings

        protected = mesh_topics(TopicSettings())
    reason = refusal(args.topic, protected)
    if reason:
        raise MeshTopicRefused(f"core.kafka.publish: {reason}")
    cafile = options.pop("ssl_cafile", None)
    if "SSL" in options["security_protocol"]:
        options["ssl_context"] = ssl.create_default_context(cafile=cafile)
    producer = AIOKafkaProducer(**options, acks="all")
    await producer.start()
    try:
        written = await producer.send_and_wait(
            args.topic,
            orjson.dumps(args.value),
            key=args.key.encode() if args.key is not None else None,
            headers=[(name, value.encode()) for name, value in args.headers.items()],
        )
    finally:
        await producer.stop()
    return {"topic": written.topic, "partition": written.partition, "offset": written.offset}
