"""``alertmesh.deadletter.v1``: input a stage could not handle, with the original bytes to replay it."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.cloudevent import Base64Bytes, CloudEvent, Model

#: Where input can fail, in the order it travels: ``parse`` (not a format ingest reads, or more alerts in one record
#: than ingest takes), ``validate`` (parsed, but the alert or the trigger it makes breaks the contract), ``route``
#: (no rule matches), ``noise`` (noise control cannot keep the alert: its dedup or grouping state cannot be written,
#: or its group could never be flushed), ``start`` (the orchestrator cannot start the workflow it names),
#: ``publish`` (Kafka refused what it caused for good).
STAGES = ("parse", "validate", "route", "noise", "start", "publish")
#: A SHA-256 in hex.
SHA256_PATTERN = "^[0-9a-f]{64}$"


class CutBytes(Model):
    """A value the dead letter holds only the start of: the whole value's size and SHA-256, to find or check it."""

    size: int = Field(ge=0, description="Length in bytes of the whole value as received.")
    sha256: str = Field(pattern=SHA256_PATTERN, description="Hex SHA-256 of the whole value as received.")


class DeadLetterData(Model):
    """Input one stage could not handle: why, and the original record exactly as received, to fix and replay it."""

    stage: str = Field(description="Where it failed: parse, validate, route, noise, start or publish.")
    reason: str = Field(
        description="Human-readable cause, precise enough to fix the input. One line: control, format and "
        "line-separator characters quoted from the input are escaped (``\\n``, ``\\x1b``, ``\\u202e``), and it is "
        "cut at 2000 characters."
    )
    original: Base64Bytes = Field(
        description="The message value exactly as received; only its first bytes when `truncated` is true."
    )
    original_size: int = Field(ge=0, description="Length in bytes of the value as received, before any cut.")
    original_sha256: str = Field(
        pattern=SHA256_PATTERN, description="Hex SHA-256 of the whole value as received, to find or check it."
    )
    truncated: bool = Field(
        False,
        description="True when anything of the record is not here whole: `original` was cut to fit the Kafka "
        "message size limit (`original_size` and `original_sha256` describe the whole value), or a key or header "
        "too long to copy was cut (`original_key_cut`, `original_headers_cut`) or left out "
        "(`original_headers_dropped`). A truncated letter cannot be replayed as it was received.",
    )
    original_topic: str = Field(description="The topic the record was read from (escaped and cut like `reason`).")
    original_partition: int | None = None
    original_offset: int | None = None
    original_key: Base64Bytes | None = Field(
        None, description="The record's key; only its first 1024 bytes when `original_key_cut` is set."
    )
    original_key_cut: CutBytes | None = Field(
        None, description="Set when the key was longer than 1024 bytes: the whole key's size and SHA-256."
    )
    original_headers: dict[str, str] = Field(
        default_factory=dict,
        description="The record's headers (the last value of a repeated one), at most 64, as text to read: bytes "
        "that are not UTF-8 show as U+FFFD, control and format characters are escaped (``\\x1b``), names are cut at "
        "128 characters and values at 256. Every value shown otherwise than it was sent is kept exactly in "
        "`original_headers_base64`.",
    )
    original_headers_base64: dict[str, Base64Bytes] = Field(
        default_factory=dict,
        description="The exact bytes of every header value that `original_headers` does not show as sent (not "
        "UTF-8, escaped or cut), so a replay sends them unchanged; only the first 1024 bytes of a value listed in "
        "`original_headers_cut`.",
    )
    original_headers_cut: dict[str, CutBytes] = Field(
        default_factory=dict,
        description="Header values longer than 1024 bytes, by their name as shown: the whole value's size and SHA-256.",
    )
    original_headers_dropped: int = Field(
        0, ge=0, description="Headers left out: past the first 64, or all of them when the letter had to be cut."
    )
    alert_source: str | None = Field(
        None,
        description="Who sent the input, as far as the failing stage knew: the webhook path's source or the "
        "alertmesh-source header, else the source the parser inferred; absent when unknown.",
    )
    alert_index: int | None = Field(
        None,
        ge=0,
        description="When the letter is about one alert of a message holding several (an Alertmanager or Grafana "
        "group, a field map's `each`, a batch): its 0-based place in the message. Each such alert that fails gets a "
        "letter of its own; its neighbours that did not fail became triggers. Absent when the whole record failed.",
    )
    alert_name: str | None = Field(
        None, description="That alert's name, when it was read that far (escaped and cut like `original_topic`)."
    )
    alert_element: Base64Bytes | None = Field(
        None,
        description="That alert's own JSON (the group's element, or the alert's payload as the sender wrote it), "
        "to read without decoding the whole original; left out when the letter would not fit otherwise.",
    )
    original_in: str | None = Field(
        None,
        description="Set when several alerts of one record failed: the record's bytes are kept once, in the first "
        "of their letters, and every other letter has an empty `original` and this field, the id of that letter "
        "(same `original_topic`, `original_partition` and `original_offset`). `alertmesh dlq replay` of any of "
        "them sends that original once; the alerts of it that already became triggers make the same triggers "
        "(ids are derived from the alert), which start nothing new.",
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
