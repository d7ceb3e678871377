"""Consumer plumbing every alertmesh subscriber shares, so no record is skipped or retried forever.

FastStream runs its own parser and decoder before a handler. If either raises, the handler never runs and, with
``AckPolicy.NACK_ON_ERROR``, the acknowledgement middleware tries to nack with FastStream's default parser; when
that fails too (a null header value), the record is neither nacked nor dead-lettered and the next commit moves
past it. ``parse_record`` and ``keep_body_raw`` therefore never fail: the handler sees every record, bytes
untouched, and decides itself what is poison.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka import ConsumerRecord
from faststream.message import StreamMessage

from schemas import DeadLetter
from services.shared.deadletter import MIN_DEAD_LETTER_BYTES, ConsumedRecord, dead_letter, dead_letter_record
from services.shared.retry import Backoff, is_permanent, with_backoff

log = logging.getLogger(__name__)


async def parse_record(
    record: ConsumerRecord[Any, Any], parse: Callable[[ConsumerRecord[Any, Any]], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    """FastStream parser: hand FastStream's own parser a copy of the record whose header values are all UTF-8.

    FastStream decodes header values with strict UTF-8 and fails on a null value. Here a null value becomes ""
    and bytes that are not UTF-8 are replaced (U+FFFD), so such a record reaches the handler (and, if it is
    poison, the dead-letter topic). A repeated header keeps its last value, as Kafka's ``Headers.lastHeader``.
    """
    headers = [(name, _utf8(value)) for name, value in record.headers]
    return await parse(dataclasses.replace(record, headers=headers))


def _utf8(value: bytes | None) -> bytes:
    if value is None:
        return b""
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("utf-8", "replace").encode("utf-8")
    return value


async def keep_body_raw(message: StreamMessage[Any]) -> bytes:
    """FastStream decoder that never fails: handlers parse the bytes themselves.

    FastStream's default decoder json-decodes a body whose content-type says JSON and raises when it is not,
    before the handler runs; the record would then be rewound and read again forever.
    """
    return bytes(message.body)


class Publisher(Protocol):
    """What ``broker.publisher(topic)`` gives: publish bytes with a key and headers, return once acknowledged."""

    async def publish(self, message: Any, *, key: bytes | None = ..., headers: dict[str, str] | None = ...) -> Any: ...


async def publish_durably(
    publisher: Publisher, key: bytes | None, body: bytes, headers: dict[str, str], what: str, backoff: Backoff
) -> None:
    """Publish, waiting out transient failures (``with_backoff``); a permanent error is raised at once."""
    await with_backoff(lambda: publisher.publish(body, key=key, headers=headers), what, backoff)


class DeadLetters:
    """Writes dead letters for one consumer: each fits ``max_bytes``, each is durable before ``write`` returns."""

    def __init__(self, publisher: Publisher, *, source: str, max_bytes: int, backoff: Backoff) -> None:
        self._publisher, self._source, self._max_bytes, self._backoff = publisher, source, max_bytes, backoff

    async def write(
        self,
        record: ConsumedRecord,
        stage: str,
        reason: str,
        *,
        correlationid: str | None = None,
        causationid: str | None = None,
    ) -> DeadLetter:
        """Publish the dead letter for ``record``; raises only if Kafka stays unavailable (the record is then
        not committed and is read again)."""

        def build(max_bytes: int) -> DeadLetter:
            return dead_letter(
                record, source=self._source, stage=stage, reason=reason, max_bytes=max_bytes,
                correlationid=correlationid, causationid=causationid,
            )  # fmt: skip

        letter = build(self._max_bytes)
        try:
            await publish_durably(
                self._publisher, *dead_letter_record(letter), f"dead letter {letter.id}", self._backoff
            )
        except Exception as error:
            if not is_permanent(error):
                raise
            # The broker refused a dead letter cut to KAFKA_MAX_MESSAGE_BYTES: its own limit is lower. Keep the
            # record's trace (where, why, size, sha256) rather than hold the partition on it.
            log.error(
                "dead letter %s refused (%r); KAFKA_MAX_MESSAGE_BYTES is above the broker's limit", letter.id, error
            )
            letter = build(MIN_DEAD_LETTER_BYTES)
            await publish_durably(
                self._publisher, *dead_letter_record(letter), f"dead letter {letter.id}", self._backoff
            )
        data = letter.data
        log.warning(
            "dead letter %s (%s@%s/%s%s): %s",
            data.stage, data.original_topic, data.original_partition, data.original_offset,
            ", original cut" if data.truncated else "", data.reason,
        )  # fmt: skip
        return letter
