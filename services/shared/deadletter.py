"""The one way a consumer turns a message it cannot use into a DeadLetter: original bytes, where they came from,
why, and a deterministic id (the same input failing the same way at the same place gets the same id, so a
redelivered failure is recognisably the same dead letter).

A dead letter always fits the Kafka message size limit: the base64 original makes it a third larger than the
input, so a large input is cut (``truncated``, with the whole value's size and SHA-256) rather than refused by
the producer and retried forever.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas import DeadLetter, DeadLetterData
from services.shared.kafka import record_size

#: Namespace for uuid5 dead-letter ids (fixed forever: changing it changes every id).
DEAD_LETTER_ID_NAMESPACE = uuid.UUID("a3e5c7b9-2d4f-4a6c-8e0b-1f3d5b7a9c2e")
#: Reasons quote the offending input (e.g. a validation error); past this they are cut, the original is attached.
MAX_REASON_CHARS = 2000
#: Correlation and causation ids come from the input (its headers, or the event it carried): longer ones are not
#: used (the dead letter's own id stands in), so an input cannot make its dead letter too large to write.
MAX_ID_CHARS = 256
#: Smallest dead letter limit: with the original and its headers cut, a dead letter is always under this.
MIN_DEAD_LETTER_BYTES = 16_384
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A longer value needs a longer varint for its length in the record: bytes kept free when cutting.
_VARINT_SLACK = 8


@dataclass(frozen=True)
class ConsumedRecord:
    """A message as a consumer read it; ``received_at`` (the record's own timestamp) stamps what it causes.

    ``headers`` are text (a value that is not UTF-8 has U+FFFD for its bad bytes); ``binary_headers`` keeps the
    exact bytes of those values, so a dead letter can give back the headers as they were sent.
    """

    value: bytes
    headers: dict[str, str]
    topic: str
    received_at: datetime
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None
    binary_headers: Mapping[str, bytes] = field(default_factory=dict)


def record_time(timestamp_ms: int | None) -> datetime:
    """The record's timestamp as a UTC datetime; now when it has none (-1) or one no datetime can hold."""
    if timestamp_ms is None or timestamp_ms < 0:
        return datetime.now(UTC)
    try:
        return _EPOCH + timedelta(milliseconds=timestamp_ms)
    except OverflowError:  # past year 9999: a producer's bug, not a reason to refuse the record
        return datetime.now(UTC)


def dead_letter_event_id(stage: str, topic: str, partition: int | None, offset: int | None, detail: str) -> str:
    """The dead letter's id: a uuid5 of where the record was and why it failed, so the same failure of the same record
    always gets the same id (``detail`` is the reason, already cut)."""
    name = "\x1f".join((stage, topic, str(partition), str(offset), detail))
    return str(uuid.uuid5(DEAD_LETTER_ID_NAMESPACE, name))


def _usable_id(value: str | None) -> str | None:
    return value if value and len(value) <= MAX_ID_CHARS else None


def dead_letter(
    record: ConsumedRecord,
    *,
    source: str,
    stage: str,
    reason: str,
    max_bytes: int,
    correlationid: str | None = None,
    causationid: str | None = None,
    alert_source: str | None = None,
) -> DeadLetter:
    """The record exactly as received, so it can be fixed and replayed; cut (``truncated``) only as far as needed
    for the dead letter, as published with ``dead_letter_record``, to be at most ``max_bytes``.

    Correlation falls back to the record's own ``correlationid`` / ``ce_id`` headers (set on every alertmesh
    event), then to the dead letter itself; ids longer than ``MAX_ID_CHARS`` are not used. ``alert_source`` is
    who sent the input, when the failing stage knows it.
    """
    reason = reason if len(reason) <= MAX_REASON_CHARS else f"{reason[:MAX_REASON_CHARS]}... [reason cut]"
    event_id = dead_letter_event_id(stage, record.topic, record.partition, record.offset, reason)
    whole = DeadLetter(
        id=event_id,
        source=source,
        time=record.received_at,
        subject=stage,
        correlationid=_usable_id(correlationid) or _usable_id(record.headers.get("correlationid")) or event_id,
        causationid=_usable_id(causationid) or _usable_id(record.headers.get("ce_id")),
        data=DeadLetterData(
            stage=stage,
            reason=reason,
            original=record.value,
            original_size=len(record.value),
            original_sha256=hashlib.sha256(record.value).hexdigest(),
            original_topic=record.topic,
            original_partition=record.partition,
            original_offset=record.offset,
            original_key=record.key,
            original_headers=dict(record.headers),
            original_headers_base64=dict(record.binary_headers),
            alert_source=alert_source,
        ),
    )
    if _size(whole) <= max_bytes:
        return whole
    # Cut the original to what fits beside everything else: base64 turns every 3 bytes into 4 characters.
    # Cut in steps, each only if the previous is not enough: the original, its headers, its key.
    steps: list[dict[str, object]] = [
        {"original": b""},
        {"original": b"", "original_headers": {}, "original_headers_base64": {}},
        {"original": b"", "original_headers": {}, "original_headers_base64": {}, "original_key": None},
    ]
    for drop in steps:
        bare = _cut(whole, drop)
        room = max_bytes - _size(bare) - _VARINT_SLACK
        if room >= 0:
            return _cut(whole, {**drop, "original": record.value[: room // 4 * 3]})
    raise ValueError(f"a dead letter cannot fit in {max_bytes} bytes (at least {MIN_DEAD_LETTER_BYTES} always do)")


def _cut(letter: DeadLetter, changes: dict[str, object]) -> DeadLetter:
    data = letter.data.model_copy(update={"truncated": True, **changes})
    return letter.model_copy(update={"data": data})


def dead_letter_record(letter: DeadLetter) -> tuple[bytes | None, bytes, dict[str, str]]:
    """Key, value and headers a dead letter is published with: keyed by the original key (same partition order)."""
    return letter.data.original_key, letter.to_json(), letter.kafka_headers()


def _size(letter: DeadLetter) -> int:
    return record_size(*dead_letter_record(letter))
