"""Dead letters: the original as received, cut only as far as the message size limit needs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from schemas import DeadLetter
from services.shared.deadletter import (
    MAX_REASON_CHARS,
    MIN_DEAD_LETTER_BYTES,
    ConsumedRecord,
    dead_letter,
    dead_letter_record,
    record_time,
)
from services.shared.kafka import record_size

LIMIT = 1_048_576


def _record(value: bytes, headers: dict[str, str] | None = None, key: bytes | None = b"k") -> ConsumedRecord:
    return ConsumedRecord(
        value=value, headers=headers or {}, topic="raw", received_at=datetime(2026, 1, 1, tzinfo=UTC), offset=3, key=key
    )


def _letter(record: ConsumedRecord, max_bytes: int = LIMIT, reason: str = "bad") -> DeadLetter:
    return dead_letter(record, source="test", stage="s", reason=reason, max_bytes=max_bytes)


def _size(letter: DeadLetter) -> int:
    return record_size(*dead_letter_record(letter))


def test_a_small_original_is_kept_whole_with_its_size_and_digest() -> None:
    letter = _letter(_record(b"\x00\xffpoison", {"h": "v"}))
    assert letter.data.original == b"\x00\xffpoison" and not letter.data.truncated
    assert letter.data.original_size == 8
    assert letter.data.original_sha256 == hashlib.sha256(b"\x00\xffpoison").hexdigest()
    assert DeadLetter.from_json(letter.to_json()) == letter


@pytest.mark.parametrize("size", [LIMIT * 3 // 4, LIMIT - 100, LIMIT, 3 * LIMIT])
def test_a_large_original_is_cut_to_fit_and_says_so(size: int) -> None:
    value = bytes(range(256)) * (size // 256) + b"!" * (size % 256)
    letter = _letter(_record(value))
    assert _size(letter) <= LIMIT
    assert letter.data.truncated
    assert value.startswith(letter.data.original) and len(letter.data.original) > LIMIT // 2
    assert (letter.data.original_size, letter.data.original_sha256) == (size, hashlib.sha256(value).hexdigest())
    assert DeadLetter.from_json(letter.to_json()) == letter


def test_huge_headers_and_key_are_dropped_when_cutting_the_original_is_not_enough() -> None:
    record = _record(b"{}", {"x-big": "h" * 2 * LIMIT, "correlationid": "c" * LIMIT}, key=b"k" * LIMIT)
    letter = _letter(record, max_bytes=MIN_DEAD_LETTER_BYTES)
    assert _size(letter) <= MIN_DEAD_LETTER_BYTES
    assert letter.data.truncated and letter.data.original_headers == {} and letter.data.original_key is None
    assert letter.correlationid == letter.id  # a header id that long is not trusted


def test_long_reasons_are_cut() -> None:
    letter = _letter(_record(b"x"), reason="why " * 10_000)
    assert len(letter.data.reason) <= MAX_REASON_CHARS + 20 and letter.data.reason.endswith("[reason cut]")


@pytest.mark.parametrize(
    ("timestamp_ms", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (253_402_300_799_999, datetime(9999, 12, 31, 23, 59, 59, 999000, UTC)),
        (1_700_000_000_123, datetime(2023, 11, 14, 22, 13, 20, 123000, UTC)),
    ],
)
def test_record_times_are_exact_to_the_millisecond(timestamp_ms: int, expected: datetime) -> None:
    assert record_time(timestamp_ms) == expected


@pytest.mark.parametrize("timestamp_ms", [None, -1, -5, 253_402_300_800_000, 2**63 - 1])
def test_missing_or_unrepresentable_record_times_are_now(timestamp_ms: int | None) -> None:
    assert abs(record_time(timestamp_ms) - datetime.now(UTC)) < timedelta(minutes=1)


def test_header_values_that_are_not_utf8_are_kept_byte_for_byte_and_replayed_as_sent() -> None:
    record = ConsumedRecord(
        value=b"{}", headers={"x-sig": "\ufffd\ufffd", "content-type": "application/json"}, topic="raw",
        received_at=datetime(2026, 1, 1, tzinfo=UTC), binary_headers={"x-sig": b"\xff\xfe"},
    )  # fmt: skip
    letter = dead_letter(record, source="test", stage="parse", reason="bad", max_bytes=LIMIT, alert_source="edr")
    again = DeadLetter.from_json(letter.to_json())
    assert again.data.original_headers_base64 == {"x-sig": b"\xff\xfe"} and again.data.alert_source == "edr"
    assert again.data.replay_headers() == [("x-sig", b"\xff\xfe"), ("content-type", b"application/json")]


def test_a_dead_letter_without_the_optional_fields_reads_with_their_defaults() -> None:
    old = (
        b'{"specversion":"1.0","id":"d-1","source":"alertmesh/orchestrator","type":"alertmesh.deadletter.v1",'
        b'"time":"2026-01-01T00:00:00Z","subject":"validate","datacontenttype":"application/json",'
        b'"correlationid":"d-1","data":{"stage":"validate","reason":"invalid","original":"e30=",'
        b'"original_topic":"alertmesh.triggers","original_headers":{"content-type":"application/json"}}}'
    )
    letter = DeadLetter.from_json(old)
    assert (letter.data.stage, letter.data.alert_source, letter.data.original_headers_base64) == ("validate", None, {})
    assert letter.data.replay_headers() == [("content-type", b"application/json")]
