"""``alertmesh.deadletter.v1``: input a stage could not handle, with the original bytes to replay it."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.cloudevent import Base64Bytes, CloudEvent, Model

#: Where input can fail, in the order it travels: ``parse`` (not a format ingest reads), ``validate`` (parsed, but
#: the alert or the trigger it makes breaks the contract), ``route`` (no rule matches), ``start`` (the orchestrator
#: cannot start the workflow it names), ``publish`` (Kafka refused what it caused for good).
STAGES = ("parse", "validate", "route", "start", "publish")


class DeadLetterData(Model):
    """Input one stage could not handle: why, and the original record exactly as received, to fix and replay it."""

    stage: str = Field(description="Where it failed: parse, validate, route, start or publish.")
    reason: str = Field(description="Human-readable cause, precise enough to fix the input.")
    original: Base64Bytes = Field(
        description="The message value exactly as received; only its first bytes when `truncated` is true."
    )
    original_size: int = Field(ge=0, description="Length in bytes of the value as received, before any cut.")
    original_sha256: str = Field(
        pattern="^[0-9a-f]{64}$", description="Hex SHA-256 of the whole value as received, to find or check it."
    )
    truncated: bool = Field(
        False,
        description="True when the dead letter would have exceeded the Kafka message size limit, so `original` "
        "(and, if still needed, `original_headers`) was cut; `original_size` and `original_sha256` describe the "
        "whole value.",
    )
    original_topic: str
    original_partition: int | None = None
    original_offset: int | None = None
    original_key: Base64Bytes | None = None
    original_headers: dict[str, str] = Field(
        default_factory=dict,
        description="The record's headers (the last value of a repeated one); a value that is not UTF-8 is shown "
        "here with U+FFFD for its bad bytes, and kept exactly in `original_headers_base64`.",
    )
    original_headers_base64: dict[str, Base64Bytes] = Field(
        default_factory=dict,
        description="The exact bytes of every header value that is not UTF-8, so a replay sends them unchanged.",
    )
    alert_source: str | None = Field(
        None,
        description="Who sent the input, as far as the failing stage knew: the webhook path's source or the "
        "alertmesh-source header, else the source the parser inferred; absent when unknown.",
    )

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers as Kafka sends them: text values in UTF-8, the others byte for byte."""
        return [
            (name, self.original_headers_base64.get(name, value.encode("utf-8")))
            for name, value in self.original_headers.items()
        ] + [(name, raw) for name, raw in self.original_headers_base64.items() if name not in self.original_headers]

    @model_validator(mode="before")
    @classmethod
    def _describe_whole_original(cls, data: Any) -> Any:
        """Size and digest default to those of ``original`` (right whenever nothing was cut)."""
        if isinstance(data, dict) and "original" in data and not data.get("truncated"):
            original = data["original"]
            try:
                whole = base64.b64decode(original, validate=True) if isinstance(original, str) else original
            except binascii.Error:
                return data  # the field's own validation reports it
            if isinstance(whole, bytes):
                data = {"original_size": len(whole), "original_sha256": hashlib.sha256(whole).hexdigest()} | data
        return data


class DeadLetter(CloudEvent):
    """Published to the dead-letter topic keyed by the original record's key; ``subject`` is the failing stage."""

    TYPE = "alertmesh.deadletter.v1"
    type: Literal["alertmesh.deadletter.v1"] = "alertmesh.deadletter.v1"
    data: DeadLetterData
