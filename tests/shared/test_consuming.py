"""The FastStream parser and decoder every consumer uses never fail, whatever the record carries."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaParser

from services.shared.consuming import keep_body_raw, parse_record
from services.shared.deadletter import consumed_record

DEFAULT = AioKafkaParser(KafkaMessage, None)  # FastStream's own parser, as the subscriber composes it


def _record(
    value: bytes | None, headers: list[tuple[str, bytes | None]], timestamp: int = 1
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic="t", partition=0, offset=5, timestamp=timestamp, timestamp_type=0, key=None, value=value,
        checksum=None, serialized_key_size=-1, serialized_value_size=len(value or b""), headers=headers,
    )  # fmt: skip


async def test_faststreams_own_parser_fails_on_a_null_header_value() -> None:
    record = _record(b"{}", [("h", None)])
    try:
        await DEFAULT.parse_message(record)
    except AttributeError:
        return
    raise AssertionError("FastStream now accepts null header values: parse_record may be simpler")


async def test_null_non_utf8_and_repeated_headers_reach_the_handler() -> None:
    record = _record(b"{}", [("a", None), ("b", b"\xff\xfe"), ("c", b"1"), ("c", b"2")])
    message = await parse_record(record, DEFAULT.parse_message)
    message.set_decoder(keep_body_raw)
    assert await message.decode() == b"{}"
    consumed = consumed_record(message)  # type: ignore[arg-type]
    assert consumed.headers == {"a": "", "b": "\ufffd\ufffd", "c": "2"}
    assert (consumed.topic, consumed.offset, consumed.key) == ("t", 5, None)
    assert record.headers[0] == ("a", None)  # the consumed record itself is left as it was


async def test_a_tombstone_is_an_empty_body() -> None:
    message = await parse_record(_record(None, []), DEFAULT.parse_message)
    message.set_decoder(keep_body_raw)
    assert await message.decode() == b""


async def test_a_body_that_claims_json_is_not_decoded() -> None:
    message = await parse_record(_record(b"{not json", [("content-type", b"application/json")]), DEFAULT.parse_message)
    message.set_decoder(keep_body_raw)
    assert await message.decode() == b"{not json"
