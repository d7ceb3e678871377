"""Generate the AsyncAPI 3.0 document from ``topics.TOPICS``.

FastStream's specification support (``faststream.specification.AsyncAPI``) builds the skeleton: each participant
(webhook, ingest, orchestrator, the ``alertmesh`` command, your own clients) is a FastStream ``KafkaBroker`` that
declares a subscriber for every topic it reads and a publisher for every topic it writes, the way the services
declare theirs. FastStream gives every operation its own channel and derives payloads from Python types; the
enrichment below then makes one channel per topic (its operations from every participant pointing at it), and
takes each message's payload from the checked-in JSON Schema files in ``schemas/json`` (the single source of the
event shapes: referenced, never copied), with the key and the headers the code writes.
"""

from __future__ import annotations

import os
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from alertmesh.asyncapi.topics import TOPICS, Headers, Participant, TopicContract, Use
from alertmesh.checkout import PACKAGES_ROOT, output_root
from schemas.jsonschema import path_for

#: The folder holding the packages: a checkout's root, or site-packages in an installed copy.
REPO_ROOT = PACKAGES_ROOT
#: Where the document is checked in (a checkout's root, beside pyproject.toml; an installed copy writes to the
#: working directory). The schema files are referenced relative to the document.
DOCUMENT = output_root() / "asyncapi.yaml"
#: The address the embedded broker listens on; deployments set ``KAFKA_BOOTSTRAP_SERVERS``.
SERVER = "127.0.0.1:9092"
#: Kafka bindings version for channel, operation and message bindings (the one FastStream writes).
KAFKA_BINDING_VERSION = "0.4.0"
HEADER = "# Generated from the code by `alertmesh asyncapi`; do not edit (the tests fail when it is stale).\n"
DESCRIPTION = (
    "Every Kafka topic of the alertmesh mesh: alerts in on the raw topic, ingest's triggers, the workflow "
    "results, the dead letters, and ingest's internal state. Each operation is one participant's use of a "
    "topic (its id: participant.action.topic). Event values are CloudEvents 1.0 in structured mode; their "
    "schemas are the files in schemas/json."
)


def operation_id(use: Use, topic: TopicContract) -> str:
    """The id of one participant's use of a topic, ``participant.action.topic`` (also the operation's title)."""
    return f"{use.participant.name}.{use.action}.{topic.name}"


def _participants() -> list[Participant]:
    seen: dict[str, Participant] = {}
    for topic in TOPICS:
        for use in topic.uses:
            seen.setdefault(use.participant.name, use.participant)
    return list(seen.values())


def _brokers() -> list[KafkaBroker]:
    """One FastStream broker per participant, declaring its subscribers and publishers."""
    brokers = []
    for participant in _participants():
        broker = KafkaBroker(SERVER, client_id=participant.client or "alertmesh")
        for topic in TOPICS:
            for use in topic.uses:
                if use.participant is not participant:
                    continue
                title = operation_id(use, topic)
                if use.action == "send":
                    broker.publisher(topic.address, title=title, description=use.description)
                else:
                    broker.subscriber(topic.address, group_id=participant.client, title=title)(_reader(use))
        brokers.append(broker)
    return brokers


def _reader(use: Use) -> Any:
    async def read(body: bytes) -> None:
        """A declaration only: the document needs the subscriber, never a running handler."""

    read.__doc__ = use.description
    return read


def skeleton() -> dict[str, Any]:
    """FastStream's own AsyncAPI 3.0 document of the participants' brokers, as plain JSON data."""
    version = metadata.version("alertmesh")
    factory = AsyncAPI(*_brokers(), title="alertmesh", version=version, schema_version="3.0.0")
    with warnings.catch_warnings():
        # Several participants publish to one topic: FastStream warns that their channels share an address,
        # which is exactly what the enrichment merges.
        warnings.simplefilter("ignore", RuntimeWarning)
        document: dict[str, Any] = factory.to_specification().to_jsonable()
    return document


def build(target: Path = DOCUMENT) -> dict[str, Any]:
    """The whole document, to be written at ``target`` (schema files are referenced relative to it): FastStream's
    skeleton, one channel per topic, messages from ``schemas/json``."""
    skeleton_doc = skeleton()
    operations: dict[str, Any] = skeleton_doc["operations"]
    expected = {operation_id(use, topic) for topic in TOPICS for use in topic.uses}
    if set(operations) != expected:  # a FastStream upgrade naming operations differently must not go unnoticed
        raise RuntimeError(f"FastStream's operations {sorted(operations)} are not the declared {sorted(expected)}")
    [server] = skeleton_doc["servers"].values()
    document: dict[str, Any] = {
        "asyncapi": skeleton_doc["asyncapi"],
        "info": {**skeleton_doc["info"], "description": DESCRIPTION},
        "defaultContentType": skeleton_doc["defaultContentType"],
        "servers": {
            "kafka": {
                **server,
                "description": "The embedded broker (`alertmesh up`); set KAFKA_BOOTSTRAP_SERVERS for yours.",
            }
        },
        "channels": {},
        "operations": {},
        "components": {"messages": {}, "schemas": {}},
    }
    for topic in TOPICS:
        document["channels"][topic.name] = _channel(topic)
        document["components"]["messages"][topic.message_title] = _message(topic)
        document["components"]["schemas"][topic.message_title] = _payload(topic, target.parent)
        for use in topic.uses:
            key = operation_id(use, topic)
            document["operations"][key] = _operation(operations[key], use, topic)
    return document


def _channel(topic: TopicContract) -> dict[str, Any]:
    def who(action: str) -> list[str]:
        return [use.participant.name for use in topic.uses if use.action == action]

    return {
        "address": topic.address,
        "title": topic.address,
        "description": topic.description,
        "servers": [{"$ref": "#/servers/kafka"}],
        "messages": {topic.message_title: {"$ref": f"#/components/messages/{topic.message_title}"}},
        "bindings": {"kafka": {"topic": topic.address, "bindingVersion": KAFKA_BINDING_VERSION}},
        "x-producers": who("send"),
        "x-consumers": who("receive"),
    }


def _operation(generated: dict[str, Any], use: Use, topic: TopicContract) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": generated["action"],
        "title": f"{use.participant.name} {'writes' if use.action == 'send' else 'reads'} {topic.address}",
        "summary": use.participant.description,
        "description": use.description,
        "channel": {"$ref": f"#/channels/{topic.name}"},
        "messages": [{"$ref": f"#/channels/{topic.name}/messages/{topic.message_title}"}],
    }
    client = use.participant.client
    if client is not None:
        binding: dict[str, Any] = {"clientId": {"type": "string", "enum": [client]}}
        if use.action == "receive":
            binding["groupId"] = {"type": "string", "enum": [client]}
        operation["bindings"] = {"kafka": {**binding, "bindingVersion": KAFKA_BINDING_VERSION}}
    return operation


def _message(topic: TopicContract) -> dict[str, Any]:
    message: dict[str, Any] = {"name": topic.message_title, "title": topic.message_title}
    if topic.event_type is not None:
        message["summary"] = f"CloudEvent `{topic.event_type}`"
        message["contentType"] = "application/cloudevents+json"
        message["correlationId"] = {
            "description": "The first alert's event id, carried through every hop.",
            "location": "$message.header#/correlationid",
        }
    if topic.headers:
        headers = dict(topic.headers)
        if topic.event_type is not None and "ce_type" in headers:
            headers["ce_type"] = ({"const": topic.event_type}, headers["ce_type"][1])
        message["headers"] = _headers(headers)
    message["payload"] = {"$ref": f"#/components/schemas/{topic.message_title}"}
    message["bindings"] = {
        "kafka": {
            "key": {**topic.key_schema, "description": topic.key_description},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }
    return message


def _headers(headers: Headers) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    patterns: dict[str, Any] = {}
    for name, (schema, description) in headers.items():
        entry = {**schema, "description": description}
        if name.endswith("*"):
            patterns[f"^{name[:-1]}"] = entry
        else:
            properties[name] = entry
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if patterns:
        result["patternProperties"] = patterns
    return result


def _payload(topic: TopicContract, folder: Path) -> dict[str, Any]:
    if topic.event_type is not None:
        # The file itself, relative to the document: the shape lives in one place.
        return {"$ref": Path(os.path.relpath(path_for(topic.event_type), folder.resolve())).as_posix()}
    assert topic.value_schema is not None
    return dict(topic.value_schema)


def render(target: Path = DOCUMENT) -> bytes:
    """The exact bytes of the document at ``target`` (YAML, keys in the order built, so diffs read like the
    document)."""
    text = yaml.safe_dump(build(target), sort_keys=False, allow_unicode=True, width=120)
    return (HEADER + text).encode("utf-8")
