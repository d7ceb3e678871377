"""``core.kafka.publish``: produce one event to a Kafka topic (hand an alert to another system, fan work out).

The broker is the mesh's own (the executor's KAFKA_* settings, sent to the Ray worker with each action), never
one named in the workflow: a workflow cannot make the executor connect to an arbitrary host this way. The write
waits for acks=all, so a success means the record is durable.
"""

from __future__ import annotations

import ssl
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from services.executor.actions.context import current_kafka
from services.executor.actions.registry import action


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
