"""``alertmesh.deadletter.v1``: input a stage could not handle, with the original bytes to replay it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.cloudevent import Base64Bytes, CloudEvent, Model


class DeadLetterData(Model):
    stage: str = Field(description="Where it failed, e.g. 'ingest.parse', 'ingest.route', 'orchestrator.decode'.")
    reason: str = Field(description="Human-readable cause, precise enough to fix the input.")
    original: Base64Bytes = Field(description="The message value exactly as received.")
    original_topic: str
    original_partition: int | None = None
    original_offset: int | None = None
    original_key: Base64Bytes | None = None
    original_headers: dict[str, str] = Field(default_factory=dict)


class DeadLetter(CloudEvent):
    TYPE = "alertmesh.deadletter.v1"
    type: Literal["alertmesh.deadletter.v1"] = "alertmesh.deadletter.v1"
    data: DeadLetterData
