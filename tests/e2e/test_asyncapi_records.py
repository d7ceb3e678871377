"""The AsyncAPI document describes what really travels: records the running mesh writes to the triggers, results
and dead-letter topics have the documented key, only documented headers (with documented values), and a value
that the documented schema file accepts."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeAlias

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from jsonschema import Draft202012Validator

from alertmesh import kafka_tools
from alertmesh.asyncapi import generate
from alertmesh.samples import sample
from services.shared.kafka import KafkaSettings
from tests.e2e.conftest import Mesh

pytestmark = pytest.mark.integration

Record: TypeAlias = ConsumerRecord[bytes, bytes]


async def next_record(
    kafka: KafkaSettings, topic: str, start: dict[int, int], match: Callable[[Record], bool], timeout_s: float = 90
) -> Record:
    """The first record on ``topic`` after ``start`` for which ``match`` is true, with its key and headers."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, partition) for partition in sorted(start)]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if match(record):
                        found: Record = record
                        return found
        raise AssertionError(f"no matching record on {topic} within {timeout_s:g}s")
    finally:
        await consumer.stop()


def conforms(document: dict[str, Any], channel_name: str, record: Record) -> None:
    """Assert ``record`` is what the document says travels on ``channel_name``."""
    channel = document["channels"][channel_name]
    assert record.topic == channel["address"]
    [reference] = channel["messages"].values()
    message = document["components"]["messages"][reference["$ref"].rsplit("/", 1)[-1]]
    # Key: the documented type.
    key_schema = message["bindings"]["kafka"]["key"]
    key = None if record.key is None else record.key.decode()
    Draft202012Validator({k: v for k, v in key_schema.items() if k != "description"}).validate(key)
    # Headers: each one documented, its value within its schema.
    documented = message.get("headers", {"properties": {}})
    for name, raw in record.headers:
        schema = documented["properties"].get(name)
        if schema is None:
            patterns = documented.get("patternProperties", {})
            schema = next((s for pattern, s in patterns.items() if re.match(pattern, name)), None)
        assert schema is not None, f"{record.topic}: header {name!r} is not in the AsyncAPI document"
        Draft202012Validator(schema).validate(raw.decode())
    # Value: the schema file the document points at.
    payload = document["components"]["schemas"][message["payload"]["$ref"].rsplit("/", 1)[-1]]
    schema_file = json.loads((generate.DOCUMENT.parent / payload["$ref"]).read_text())
    Draft202012Validator(schema_file).validate(json.loads(record.value))


async def test_records_the_mesh_writes_match_the_document(mesh: Mesh) -> None:
    document = yaml.safe_load(generate.DOCUMENT.read_text())
    topics = {name: document["channels"][name]["address"] for name in ("triggers", "results", "deadLetters")}
    assert topics == {"triggers": mesh.topics.triggers, "results": mesh.topics.results, "deadLetters": mesh.topics.dlq}
    start = {name: await kafka_tools.end_offsets(mesh.kafka, topic) for name, topic in topics.items()}

    fingerprint = f"asyncapi-{uuid.uuid4().hex[:8]}"
    body = json.loads(sample("alertmanager-v4-firing.json").read_bytes())
    body["alerts"] = [{**body["alerts"][0], "fingerprint": fingerprint}]
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, json.dumps(body).encode())
    poison = f'{{"not json {fingerprint}'.encode()
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, poison, key=fingerprint.encode())

    trigger = await next_record(
        mesh.kafka, topics["triggers"], start["triggers"], lambda r: fingerprint.encode() in r.value
    )
    assert trigger.key is not None
    result = await next_record(mesh.kafka, topics["results"], start["results"], lambda r: r.key == trigger.key)
    dead = await next_record(
        mesh.kafka, topics["deadLetters"], start["deadLetters"], lambda r: r.key == fingerprint.encode()
    )
    conforms(document, "triggers", trigger)
    conforms(document, "results", result)
    conforms(document, "deadLetters", dead)
