"""The FastStream batch parser and decoder every consumer uses never fail, whatever the records carry; batch
publishing writes everything, retries only what failed transiently, and reports what Kafka refused for good."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaBatchParser

from schemas import DeadLetter
from services.shared.backoff import Backoff, GaveUp
from services.shared.consuming import (
    DeadLetterOrder,
    DeadLetters,
    Outgoing,
    consumed_batch,
    keep_bodies_raw,
    parse_batch,
    publish_all_durably,
)
from services.shared.deadletter import ConsumedRecord
from tests.shared.fakes import SizeLimitedPublisher

DEFAULT = AioKafkaBatchParser(KafkaMessage, None)  # FastStream's own batch parser, as the subscriber composes it
FAST = Backoff(initial_s=0.001, max_s=0.002, budget_s=0.05)


def _record(
    value: bytes | None, headers: list[tuple[str, bytes | None]], timestamp: int = 1, offset: int = 5
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic="t", partition=0, offset=offset, timestamp=timestamp, timestamp_type=0, key=None, value=value,
        checksum=None, serialized_key_size=-1, serialized_value_size=len(value or b""), headers=headers,
    )  # fmt: skip


async def test_faststreams_own_batch_parser_fails_on_a_null_header_value() -> None:
    try:
        await DEFAULT.parse_batch((_record(b"{}", [("h", None)]),))
    except AttributeError:
        return
    raise AssertionError("FastStream now accepts null header values: parse_batch may be simpler")


async def test_null_non_utf8_and_repeated_headers_reach_the_handler_beside_clean_records() -> None:
    dirty = _record(b"{}", [("a", None), ("b", b"\xff\xfe"), ("c", b"1"), ("c", b"2")], offset=5)
    clean = _record(b"[]", [("content-type", b"application/json")], offset=6)
    message = await parse_batch([dirty, clean], DEFAULT.parse_batch)
    message.set_decoder(keep_bodies_raw)
    assert await message.decode() == [b"{}", b"[]"]
    first, second = consumed_batch(message)  # type: ignore[arg-type]
    assert first.headers == {"a": "", "b": "\ufffd\ufffd", "c": "2"}
    assert first.binary_headers == {"b": b"\xff\xfe"}  # the exact bytes, for the dead letter and its replay
    assert second.binary_headers == {}
    assert (first.topic, first.offset, first.key) == ("t", 5, None)
    assert (second.offset, second.headers) == (6, {"content-type": "application/json"})
    assert dirty.headers[0] == ("a", None)  # the consumed record itself is left as it was


async def test_a_tombstone_is_an_empty_body() -> None:
    message = await parse_batch([_record(None, [])], DEFAULT.parse_batch)
    message.set_decoder(keep_bodies_raw)
    assert await message.decode() == [b""]
    [consumed] = consumed_batch(message)  # type: ignore[arg-type]
    assert consumed.value == b""


async def test_a_body_that_claims_json_is_not_decoded() -> None:
    record = _record(b"{not json", [("content-type", b"application/json")])
    message = await parse_batch([record], DEFAULT.parse_batch)
    message.set_decoder(keep_bodies_raw)
    assert await message.decode() == [b"{not json"]


class FlakyProducer:
    """Acknowledges through futures like aiokafka; ``fail`` maps a body to how many attempts fail transiently,
    ``refuse`` holds bodies refused for good at send."""

    def __init__(self, fail: dict[bytes, int] | None = None, refuse: frozenset[bytes] = frozenset()) -> None:
        self.fail, self.refuse = dict(fail or {}), refuse
        self.attempts: list[bytes] = []
        self.written: list[bytes] = []

    async def publish(
        self, message: Any, *, key: bytes | None = None, headers: dict[str, str] | None = None, no_confirm: bool = False
    ) -> asyncio.Future[None]:
        assert no_confirm, "a batch is queued whole before any acknowledgement is awaited"
        self.attempts.append(message)
        if message in self.refuse:
            raise MessageSizeTooLargeError("too large")
        acknowledged = asyncio.get_running_loop().create_future()
        if self.fail.get(message, 0) > 0:
            self.fail[message] -= 1
            acknowledged.set_exception(KafkaTimeoutError())
        else:
            self.written.append(message)
            acknowledged.set_result(None)
        return acknowledged


def _messages(*bodies: bytes) -> list[Outgoing]:
    return [Outgoing(None, body, {}, body.decode()) for body in bodies]


async def test_only_the_transient_failures_are_sent_again_and_refusals_are_reported() -> None:
    producer = FlakyProducer(fail={b"b": 2}, refuse=frozenset({b"c"}))
    results = await publish_all_durably(producer, _messages(b"a", b"b", b"c", b"d"), FAST)
    assert results[0] is None and results[1] is None and results[3] is None
    assert isinstance(results[2], MessageSizeTooLargeError)
    assert sorted(producer.written) == [b"a", b"b", b"d"]
    assert producer.attempts == [b"a", b"b", b"c", b"d", b"b", b"b"]


async def test_kafka_down_past_the_budget_gives_up_so_the_batch_is_not_committed() -> None:
    producer = FlakyProducer(fail={b"b": 10_000})
    with pytest.raises(GaveUp):
        await publish_all_durably(producer, _messages(b"a", b"b"), FAST)
    assert producer.written == [b"a"]


async def test_nothing_to_publish_publishes_nothing() -> None:
    assert await publish_all_durably(FlakyProducer(), [], FAST) == []


async def test_once_a_send_fails_for_kafka_being_down_the_rest_wait_for_the_next_round() -> None:
    class BufferFull(FlakyProducer):
        """The producer's buffer stays full (broker down) for the first ``full`` sends: each waits, then raises."""

        def __init__(self, full: int) -> None:
            super().__init__()
            self.full = full

        async def publish(
            self,
            message: Any,
            *,
            key: bytes | None = None,
            headers: dict[str, str] | None = None,
            no_confirm: bool = False,
        ) -> asyncio.Future[None]:
            if self.full:
                self.full -= 1
                self.attempts.append(message)
                raise KafkaTimeoutError()
            return await super().publish(message, key=key, headers=headers, no_confirm=no_confirm)

    producer = BufferFull(full=1)
    results = await publish_all_durably(producer, _messages(b"a", b"b", b"c"), FAST)
    assert results == [None, None, None]
    assert producer.attempts == [b"a", b"a", b"b", b"c"]  # b and c were not each left to time out in round one


async def test_a_repeated_header_keeps_the_bytes_of_its_last_value_only() -> None:
    record = _record(b"{}", [("h", b"\xff"), ("h", b"ok"), ("g", b"ok"), ("g", b"\xfe")])
    message = await parse_batch([record], DEFAULT.parse_batch)
    [consumed] = consumed_batch(message)  # type: ignore[arg-type]
    assert (consumed.headers, consumed.binary_headers) == ({"h": "ok", "g": "\ufffd"}, {"g": b"\xfe"})


async def test_a_broker_whose_limit_is_below_every_cut_letter_still_gets_the_minimal_one() -> None:
    """A broker refusing records far under KAFKA_MAX_MESSAGE_BYTES (its own limit set lower): the letter is cut to
    the smallest limit, then replaced by the minimal one, rather than hold the partition on the record."""
    dlq = SizeLimitedPublisher(3_000)
    backoff = Backoff(initial_s=0.001, max_s=0.001, budget_s=0.01)
    letters = DeadLetters(dlq, source="alertmesh/ingest", max_bytes=1_048_576, backoff=backoff)
    record = ConsumedRecord(b"v" * 500_000, {"h": "x" * 900}, "alerts.raw", datetime(2026, 1, 1, tzinfo=UTC), 0, 4)
    [letter] = await letters.write_all([DeadLetterOrder(record, "parse", "why " * 400)])
    assert letter.data.truncated and letter.data.original == b"" and letter.data.original_size == 500_000
    [(body, _, _)] = dlq.sent
    assert DeadLetter.from_json(body) == letter and dlq.refused == 2


def test_tune_collector_freezes_what_lives_at_start_and_raises_the_young_threshold() -> None:
    # Its own process: the collector's settings are the process's.
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import gc; from services.shared.consuming import tune_collector, YOUNG_COLLECTION_THRESHOLD as Y\n"
        "before = gc.get_threshold(); assert gc.get_freeze_count() == 0\n"
        "tune_collector()\n"
        "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
        "assert gc.get_threshold() == (Y, before[1], before[2]), gc.get_threshold()\n"
        "assert gc.isenabled()\n"
    )
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], cwd=repo, env={"PYTHONPATH": str(repo)}, check=True, timeout=60)
