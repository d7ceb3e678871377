"""Hypothesis strategies and helpers shared by the consumers' fuzz tests: hostile Kafka records and JSON."""

from __future__ import annotations

import os
from typing import Any

import orjson
from aiokafka import ConsumerRecord
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaBatchParser
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from services.shared.consuming import consumed_batch, keep_bodies_raw, parse_batch
from services.shared.deadletter import ConsumedRecord

#: Examples per fuzz test: enough to reach every class of input, few enough to keep the suite fast. Set
#: ALERTMESH_FUZZ_EXAMPLES for a longer search.
FUZZ_EXAMPLES = int(os.environ.get("ALERTMESH_FUZZ_EXAMPLES", "400"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: FastStream's own batch parser, which ``parse_batch`` wraps exactly as a subscriber composes them.
DEFAULT_PARSER = AioKafkaBatchParser(KafkaMessage, None)

EDGE_TIMES = st.sampled_from(
    [
        "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "0001-12-31T23:59:59-14:00", "0002-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00+01:00",
        "2023-02-06T13:08:45.828123456Z", "2023-02-06T13:08:45", "1970-01-01T00:00:00Z", "not a time", "",
    ]
) | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.none()  # fmt: skip
TEXT = st.text(max_size=20) | st.sampled_from(["", "\x00\n\u2028", "critical", "sre"])
#: Strings large enough to push a trigger or dead letter past the size limits the tests use.
HUGE_TEXT = st.sampled_from([("a", 20_000), ("ü", 9_000), ("\x01", 3_000)]).map(lambda huge: huge[0] * huge[1])
JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=10
)

#: Secret values as users have them: tokens, passphrases with whitespace and quotes, unicode, URL and base64
#: characters (``+/=%``), a trailing newline from a file; never shorter than 8 characters (shorter ones are not
#: cut-masked) nor made only of the mask's ``*``.
SECRET_VALUES = (
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(list(" \t\n+/=%&?#'\"\\:@é🙂")),
        min_size=8,
        max_size=48,
    ).filter(lambda value: value.strip("*") != "")
    | st.sampled_from(["s3cr3t+K3y/with=padding==", "tok-0123456789abcdef\n", "pa ss'wo\"rd%2B", "ключ-🙂-κλειδί"])
)  # fmt: skip


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"n": value}
    return value


DEEP = st.sampled_from([1, 120, 125, 190, 196, 197, 200, 250, 252, 253, 254, 255, 256, 300, 1000, 1023]).map(nested)


def dumps(value: Any) -> bytes:
    """JSON bytes, also for values holding ``nested`` chains deeper than orjson writes (written by hand)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        pass
    if isinstance(value, dict) and set(value) == {"n"}:
        depth = 0
        while isinstance(value, dict) and set(value) == {"n"}:
            value, depth = value["n"], depth + 1
        return b'{"n":' * depth + dumps(value) + b"}" * depth
    if isinstance(value, dict):
        return b"{" + b",".join(orjson.dumps(str(k)) + b":" + dumps(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(dumps(item) for item in value) + b"]"
    if isinstance(value, int):  # past 64 bits: valid JSON that orjson will not write
        return str(value).encode()
    raise TypeError(f"not JSON: {value!r}")


HEADER_VALUE = st.none() | st.binary(max_size=8) | st.sampled_from([b"\xff\xfe", "é".encode(), b"application/json"])
HEADER_NAME = st.sampled_from(["content-type", "alertmesh-source", "correlationid", "ce_id", "x"]) | st.text(max_size=5)
#: Header lists as Kafka carries them: values may be null or not UTF-8, names may repeat.
HEADER_LISTS = st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=6)
TIMESTAMPS = st.sampled_from([-1, 0, 253_402_300_799_999, 253_402_300_800_000, 2**63 - 1, -(2**63)]) | st.integers(
    -(2**63), 2**63 - 1
)


def kafka_record(
    topic: str, value: bytes | None, key: bytes | None, headers: list[Any], timestamp: int
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic=topic, partition=0, offset=11, timestamp=timestamp, timestamp_type=0, key=key, value=value,
        checksum=None, serialized_key_size=len(key or b""), serialized_value_size=len(value or b""), headers=headers,
    )  # fmt: skip


async def consumed(record: ConsumerRecord[Any, Any]) -> ConsumedRecord:
    """What a subscriber's handler gets for ``record`` (a batch of one): FastStream's batch parser behind ours,
    then our decoder."""
    message = await parse_batch([record], DEFAULT_PARSER.parse_batch)
    message.set_decoder(keep_bodies_raw)
    assert await message.decode() == [record.value or b""]
    [one] = consumed_batch(message)  # type: ignore[arg-type]
    return one
