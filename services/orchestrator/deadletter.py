"""Builds the DeadLetter event for a trigger message the orchestrator cannot use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from faststream.kafka.message import KafkaMessage

from schemas import DeadLetter, DeadLetterData
from services.orchestrator.contracts import EVENT_SOURCE


def _headers(message: KafkaMessage) -> dict[str, str]:
    return {
        str(k): v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for k, v in message.headers.items()
    }


def dead_letter(
    message: KafkaMessage,
    *,
    stage: str,
    reason: str,
    correlationid: str | None = None,
    causationid: str | None = None,
) -> DeadLetter:
    """The original bytes, where they came from, and why; ids fall back to the message's own headers."""
    record = message.raw_message
    assert not isinstance(record, tuple)  # the trigger subscriber consumes one record at a time
    headers = _headers(message)
    event_id = str(uuid.uuid4())
    key = record.key
    return DeadLetter(
        id=event_id,
        source=EVENT_SOURCE,
        time=datetime.now(UTC),
        subject=stage,
        correlationid=correlationid or headers.get("correlationid") or event_id,
        causationid=causationid or headers.get("ce_id"),
        data=DeadLetterData(
            stage=stage,
            reason=reason,
            original=bytes(message.body),
            original_topic=record.topic,
            original_partition=record.partition,
            original_offset=record.offset,
            original_key=key if isinstance(key, bytes) or key is None else str(key).encode(),
            original_headers=headers,
        ),
    )
