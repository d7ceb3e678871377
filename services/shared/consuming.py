"""Consumer plumbing every alertmesh subscriber shares, so no record is skipped or retried forever.

Both consumers are FastStream *batch* subscribers (``batch=True``): each handler call gets the records of one
``getmany``, writes what they cause, and returns; only then does ``AckPolicy.NACK_ON_ERROR`` commit, and it
commits the consumer's position, which is just past that batch (the consume loop fetches the next batch only
after the handler returned). If the handler raises, FastStream seeks every partition of the batch back to its
first record: the whole batch is read again, nothing past it is committed. A cancelled handler (shutdown) neither
commits nor seeks, and the next owner of the partitions reads the batch again. Redelivery is harmless: every event
written carries a deterministic id, every workflow start an idempotency key.

FastStream runs its own parser and decoder before a handler. If either raises, the handler never runs and the
acknowledgement middleware tries to nack with FastStream's default parser; when that fails too (a null header
value), the batch is neither nacked nor dead-lettered and the next commit moves past it. ``parse_batch`` and
``keep_bodies_raw`` therefore never fail: the handler sees every record, bytes untouched, and decides itself
what is poison.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import ConsumerRecord
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from schemas import DeadLetter
from services.shared import metrics
from services.shared.backoff import Backoff, is_permanent, with_backoff
from services.shared.deadletter import (
    MIN_DEAD_LETTER_BYTES,
    AlertOfRecord,
    ConsumedRecord,
    dead_letter,
    dead_letter_record,
    minimal_dead_letter,
    record_time,
)

log = logging.getLogger(__name__)

#: The collector's first-generation threshold for a consumer (CPython's default is 700 allocations): see
#: ``tune_collector``.
YOUNG_COLLECTION_THRESHOLD = 10_000


def tune_collector() -> None:
    """Make the garbage collector cheap for a consumer's hot loop; call once, when the service has started.

    A consumer allocates a few hundred objects per record and keeps a batch's worth alive until the batch is
    written, so CPython's collector ran every few records, and its older generations walked every object the
    process had ever made: the modules, pydantic's validators, the Kafka and tracing clients. ``gc.freeze`` moves
    everything alive at start into a generation no collection scans again (it is never garbage: it lives as long
    as the process), and a higher first-generation threshold lets most records' objects die between collections.
    Measured on ingest's pipeline over batches of 500 records, this alone: 10% to 27% less CPU per record depending
    on the run (``python -m bench.pipeline_micro --steps --collector default|tuned``). Memory: the young generation
    holds up to this many objects more.
    """
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)


async def parse_batch(
    records: Sequence[ConsumerRecord[Any, Any]],
    parse: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream batch parser: hand FastStream's own batch parser copies of the records whose header values are
    all UTF-8.

    FastStream decodes every header value of every record with strict UTF-8 and fails on a null value. Here a
    null value becomes "" and bytes that are not UTF-8 are replaced (U+FFFD), so such a record reaches the handler
    (and, if it is poison, the dead-letter topic). A repeated header keeps its last value, as Kafka's
    ``Headers.lastHeader``. Records whose headers are already clean are passed on as they are.
    """
    return await parse(tuple(_clean_headers(record) for record in records))


#: Attribute of a cleaned record holding its headers as received (see ``_clean_headers``).
_RECEIVED_HEADERS = "_alertmesh_received_headers"


def _clean_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    headers = [(name, _utf8(value)) for name, value in record.headers]
    if all(clean is value for (_, clean), (_, value) in zip(headers, record.headers, strict=True)):
        return record
    cleaned = dataclasses.replace(record, headers=headers)
    # FastStream hands the handler these copies (``raw_message``); the exact bytes ride along on the copy, the
    # one object that reaches ``consumed_batch``, so a dead letter can give the headers back as they were sent.
    setattr(cleaned, _RECEIVED_HEADERS, tuple(record.headers))
    return cleaned


def _utf8(value: bytes | None) -> bytes:
    if value is None:
        return b""
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("utf-8", "replace").encode("utf-8")
    return value


async def keep_bodies_raw(message: StreamMessage[Any]) -> list[bytes]:
    """FastStream batch decoder that never fails: handlers parse the bytes themselves.

    FastStream's default decoder json-decodes a body whose content-type says JSON and raises when it is not,
    before the handler runs; the batch would then be rewound and read again forever.
    """
    return [bytes(body) for body in message.body]


def consumed_batch(message: KafkaMessage) -> list[ConsumedRecord]:
    """The records a batch subscriber received (after ``parse_batch``), in the order they were fetched."""
    raw = message.raw_message
    records = raw if isinstance(raw, tuple | list) else (raw,)
    return [_consumed(record) for record in records]


def _consumed(record: ConsumerRecord[Any, Any]) -> ConsumedRecord:
    key = record.key if isinstance(record.key, bytes) or record.key is None else str(record.key).encode()
    return ConsumedRecord(
        value=bytes(record.value or b""),
        headers={
            str(name): value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            for name, value in record.headers
        },
        topic=record.topic,
        received_at=record_time(record.timestamp),
        partition=record.partition,
        offset=record.offset,
        key=key,
        binary_headers=_binary_headers(getattr(record, _RECEIVED_HEADERS, record.headers)),
    )


def _binary_headers(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, bytes]:
    """The header values that are not UTF-8, byte for byte (the last value of a repeated header, as ``headers``)."""
    binary: dict[str, bytes] = {}
    for name, value in headers:
        binary.pop(str(name), None)
        if isinstance(value, bytes):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                binary[str(name)] = value
    return binary


class Publisher(Protocol):
    """What ``broker.publisher(topic)`` gives: publish bytes with a key and headers. With ``no_confirm`` it
    returns once the record is queued in the producer, with a future that resolves when Kafka acknowledged it."""

    async def publish(
        self, message: Any, *, key: bytes | None = ..., headers: dict[str, str] | None = ..., no_confirm: bool = ...
    ) -> Any:
        """Publish ``message``; with ``no_confirm`` it returns a future of Kafka's acknowledgement instead of waiting
        for it."""


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One record to write: its key, value and headers, and what it is (for logs)."""

    key: bytes | None
    body: bytes
    headers: dict[str, str]
    what: str


async def publish_all_durably(
    publisher: Publisher, messages: Sequence[Outgoing], backoff: Backoff, *, service: str = metrics.UNKNOWN
) -> list[BaseException | None]:
    """Write every message, all in flight at once, and wait for every acknowledgement (acks=all).

    Returns, per message, None when it is written or the permanent error Kafka refused it with (too large: the
    caller dead-letters what it came from). Transient failures are sent again, together, with backoff
    (``with_backoff``) until they are written; past the budget ``GaveUp`` is raised and the caller must not commit.
    Each retry counts in ``alertmesh_publish_retries_total{service,topic}``.
    """
    results: list[BaseException | None] = [None] * len(messages)
    pending = list(range(len(messages)))

    async def attempt() -> None:
        nonlocal pending
        errors = await _send_all(publisher, [messages[index] for index in pending])
        transient: list[int] = []
        last: Exception | None = None
        for index, error in zip(pending, errors, strict=True):
            if error is None:
                continue
            if is_permanent(error):
                results[index] = error
                continue
            transient.append(index)
            last = error if isinstance(error, Exception) else RuntimeError(f"publish interrupted: {error!r}")
        pending = transient
        if last is not None:
            raise last

    if pending:
        first = messages[0].what
        topic = str(getattr(publisher, "topic", None) or metrics.UNKNOWN)

        def retried() -> None:
            metrics.count_publish_retry(service, topic)

        await with_backoff(attempt, f"publishing {len(messages)} records ({first}...)", backoff, on_retry=retried)
    return results


async def _send_all(publisher: Publisher, messages: Sequence[Outgoing]) -> list[BaseException | None]:
    """Queue every message in the producer, then await all acknowledgements; the error of each, or None."""
    errors: list[BaseException | None] = [None] * len(messages)
    waiting: list[tuple[int, asyncio.Future[Any]]] = []
    for index, message in enumerate(messages):
        try:
            sent = await publisher.publish(message.body, key=message.key, headers=message.headers, no_confirm=True)
        except Exception as error:  # refused before it was queued: too large, no metadata, producer closed
            errors[index] = error
            if is_permanent(error):
                continue
            # Kafka is unavailable (the producer's buffer stayed full for its request timeout): the rest would
            # each wait that long too. They are sent again with this one, after the backoff.
            for rest in range(index + 1, len(messages)):
                errors[rest] = error
            break
        if isinstance(sent, asyncio.Future):
            waiting.append((index, sent))
    if waiting:
        acknowledged = await asyncio.gather(*(future for _, future in waiting), return_exceptions=True)
        for (index, _), outcome in zip(waiting, acknowledged, strict=True):
            if isinstance(outcome, BaseException):
                errors[index] = outcome
    return errors


@dataclasses.dataclass(frozen=True)
class DeadLetterOrder:
    """What to dead-letter: the record, at which stage, why, and the ids of the event it carried (if known)."""

    record: ConsumedRecord
    stage: str
    reason: str
    correlationid: str | None = None
    causationid: str | None = None
    alert_source: str | None = None
    #: Extra headers of the dead letter's record: the trace context of the hop that dead-lettered it.
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: The one alert of a record holding several that failed (its index, name and own JSON), when it is one.
    alert: AlertOfRecord | None = None
    #: Keep the record's bytes once: the first order of this record (in ``write_all``'s list) carries them, the
    #: following ones of the same record name that letter (``original_in``) instead.
    original_once: bool = False


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
        alert_source: str | None = None,
    ) -> DeadLetter:
        """Publish the dead letter for ``record``; raises only if Kafka stays unavailable (the record is then
        not committed and is read again)."""
        order = DeadLetterOrder(record, stage, reason, correlationid, causationid, alert_source)
        [letter] = await self.write_all([order])
        return letter

    async def write_all(self, orders: Sequence[DeadLetterOrder]) -> list[DeadLetter]:
        """Publish a dead letter per order, all at once; returns once every one is durable (see ``write``)."""
        carriers = _carriers(orders)
        letters: list[DeadLetter] = []
        #: The id of the letter carrying each order's original, when another one does.
        shared: list[str | None] = []
        for order, carrier in zip(orders, carriers, strict=True):
            shared.append(None if carrier is None else letters[carrier].id)
            letters.append(self._build(order, self._max_bytes, shared[-1]))
        service = metrics.service_of(self._source)
        outgoing = [_outgoing(letter, order.headers) for letter, order in zip(letters, orders, strict=True)]
        refused = await publish_all_durably(self._publisher, outgoing, self._backoff, service=service)
        # The broker refused dead letters cut to KAFKA_MAX_MESSAGE_BYTES: its own limit is lower. Keep each record's
        # trace (where, why, size, sha256) rather than hold the partition on it: cut to the smallest limit, then the
        # minimal letter. Only a broker refusing even that (a few hundred bytes) still raises.
        smaller: list[Callable[[int], DeadLetter]] = [
            lambda index: self._build(orders[index], MIN_DEAD_LETTER_BYTES, shared[index]),
            lambda index: minimal_dead_letter(
                orders[index].record, source=self._source, stage=orders[index].stage, reason=orders[index].reason
            ),
        ]
        for build in smaller:
            again = [index for index, error in enumerate(refused) if error is not None]
            if not again:
                break
            for index in again:
                log.error(
                    "dead letter %s refused (%r); KAFKA_MAX_MESSAGE_BYTES is above the broker's limit",
                    letters[index].id, refused[index],
                )  # fmt: skip
                letters[index] = build(index)
            retried = await publish_all_durably(
                self._publisher,
                [_outgoing(letters[index], orders[index].headers) for index in again],
                self._backoff,
                service=service,
            )
            refused = [None] * len(letters)
            for index, error in zip(again, retried, strict=True):
                refused[index] = error
        for error in refused:
            if error is not None:
                raise error
        for letter in letters:
            data = letter.data
            metrics.count_dead_letter(service, data.stage)
            log.warning(
                "dead letter %s (%s@%s/%s%s): %s",
                data.stage, data.original_topic, data.original_partition, data.original_offset,
                ", original cut" if data.truncated else "", data.reason,
            )  # fmt: skip
        return letters

    def _build(self, order: DeadLetterOrder, max_bytes: int, original_in: str | None) -> DeadLetter:
        return dead_letter(
            order.record, source=self._source, stage=order.stage, reason=order.reason, max_bytes=max_bytes,
            correlationid=order.correlationid, causationid=order.causationid, alert_source=order.alert_source,
            alert=order.alert, original_in=original_in,
        )  # fmt: skip


def _carriers(orders: Sequence[DeadLetterOrder]) -> list[int | None]:
    """For each order, the index of the earlier order whose letter carries its record's bytes (None: its own
    letter carries them): the first ``original_once`` order of a record carries them for the others."""
    first: dict[int, int] = {}
    carriers: list[int | None] = []
    for index, order in enumerate(orders):
        if not order.original_once:
            carriers.append(None)
            continue
        carrier = first.setdefault(id(order.record), index)
        carriers.append(None if carrier == index else carrier)
    return carriers


def _outgoing(letter: DeadLetter, extra: Mapping[str, str]) -> Outgoing:
    key, body, headers = dead_letter_record(letter)
    return Outgoing(key, body, {**headers, **extra}, f"dead letter {letter.id}")
