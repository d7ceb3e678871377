"""The one way a consumer turns a message it cannot use into a DeadLetter: original bytes, where they came from,
why, and a deterministic id (the same input failing the same way at the same place gets the same id, so a
redelivered failure is recognisably the same dead letter)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from faststream.kafka.annotations import KafkaMessage

from schemas import DeadLetter, DeadLetterData

#: Namespace for uuid5 dead-letter ids (fixed forever: changing it changes every id).
DEAD_LETTER_ID_NAMESPACE = uuid.UUID("a3e5c7b9-2d4f-4a6c-8e0b-1f3d5b7a9c2e")


@dataclass(frozen=True)
class ConsumedRecord:
    """A message as a consumer read it; ``received_at`` (the record's own timestamp) stamps what it causes."""

    value: bytes
    headers: dict[str, str]
    topic: str
    received_at: datetime
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def consumed_record(message: KafkaMessage) -> ConsumedRecord:
    """What a single-record FastStream subscriber received, with the record's timestamp (now if it has none)."""
    record = message.raw_message
    assert not isinstance(record, tuple), "dead letters are built per record, not per batch"
    timestamp = record.timestamp if record.timestamp is not None else -1
    key = record.key if isinstance(record.key, bytes) or record.key is None else str(record.key).encode()
    return ConsumedRecord(
        value=bytes(message.body),
        headers={
            str(k): v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for k, v in message.headers.items()
        },
        topic=record.topic,
        received_at=datetime.fromtimestamp(timestamp / 1000, UTC) if timestamp >= 0 else datetime.now(UTC),
        partition=record.partition,
        offset=record.offset,
        key=key,
    )


def dead_letter_event_id(stage: str, topic: str, partition: int | None, offset: int | None, detail: str) -> str:
    name = "\x1f".join((stage, topic, str(partition), str(offset), detail))
    return str(uuid.uuid5(DEAD_LETTER_ID_NAMESPACE, name))


def dead_letter(
    record: ConsumedRecord,
    *,
    source: str,
    stage: str,
    reason: str,
    correlationid: str | None = None,
    causationid: str | None = None,
) -> DeadLetter:
    """The record exactly as received, so it can be fixed and replayed. Correlation falls back to the record's
    own ``correlationid`` / ``ce_id`` headers (set on every alertmesh event), then to the dead letter itself."""
    event_id = dead_letter_event_id(stage, record.topic, record.partition, record.offset, reason)
    return DeadLetter(
        id=event_id,
        source=source,
        time=record.received_at,
        subject=stage,
        correlationid=correlationid or record.headers.get("correlationid") or event_id,
        causationid=causationid or record.headers.get("ce_id"),
        data=DeadLetterData(
            stage=stage,
            reason=reason,
            original=record.value,
            original_topic=record.topic,
            original_partition=record.partition,
            original_offset=record.offset,
            original_key=record.key,
            original_headers=dict(record.headers),
        ),
    )
