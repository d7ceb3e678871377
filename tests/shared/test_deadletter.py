"""Dead letters: the original as received, cut only as far as the message size limit needs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import DeadLetter
from schemas.deadletter import CutBytes
from services.shared import deadletter
from services.shared.deadletter import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_KEY_BYTES,
    MAX_REASON_CHARS,
    MAX_TEXT_CHARS,
    MIN_DEAD_LETTER_BYTES,
    ConsumedRecord,
    dead_letter,
    dead_letter_record,
    minimal_dead_letter,
    printable,
    record_time,
)
from services.shared.kafka import record_size
from tests.shared.strategies import FUZZ, HOSTILE_CHARS, HOSTILE_HEADER_VALUE, HOSTILE_KEYS, REPEATS

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


def test_huge_headers_and_key_keep_their_start_size_and_digest() -> None:
    big, key = b"h" * 2 * LIMIT, b"k" * LIMIT
    record = _record(b"{}", {"x-big": big.decode(), "correlationid": "c" * LIMIT}, key=key)
    letter = _letter(record, max_bytes=MIN_DEAD_LETTER_BYTES)
    assert _size(letter) <= MIN_DEAD_LETTER_BYTES and letter.data.truncated
    assert letter.data.original_key == key[:MAX_KEY_BYTES]
    assert letter.data.original_key_cut == CutBytes(size=len(key), sha256=hashlib.sha256(key).hexdigest())
    assert letter.data.original_headers["x-big"] == "h" * MAX_TEXT_CHARS + "... [cut]"
    assert letter.data.original_headers_base64["x-big"] == big[:MAX_HEADER_BYTES]
    assert letter.data.original_headers_cut["x-big"] == CutBytes(size=len(big), sha256=hashlib.sha256(big).hexdigest())
    assert letter.correlationid == letter.id  # a header id that long is not trusted
    assert DeadLetter.from_json(letter.to_json()) == letter


def test_long_reasons_are_cut() -> None:
    letter = _letter(_record(b"x"), reason="why " * 10_000)
    assert len(letter.data.reason) <= MAX_REASON_CHARS + 20 and letter.data.reason.endswith("[cut]")


def test_a_huge_header_of_control_characters_still_gives_a_letter_under_the_limit() -> None:
    """The audit's poison: a 200 KB ``alertmesh-source`` of control characters (1.2 MB JSON-escaped) was quoted whole
    as the letter's ``alert_source`` and the build raised, so the record was read again forever."""
    poison = "\x01\x1b\x7f" * 70_000
    record = _record(b'{"x": 1}', {"alertmesh-source": poison}, key=b"\x00" * 5000)
    for limit in (MIN_DEAD_LETTER_BYTES, LIMIT):
        letter = dead_letter(record, source="t", stage="parse", reason=f"bad {poison}", max_bytes=limit,
                             alert_source=poison, correlationid=poison)  # fmt: skip
        assert _size(letter) <= limit and letter.data.truncated
        assert letter.data.alert_source is not None and len(letter.data.alert_source) <= MAX_TEXT_CHARS + 20
        assert letter.data.alert_source.startswith("\\x01\\x1b\\x7f")
        assert letter.data.original == b'{"x": 1}' and letter.correlationid == letter.id
        assert DeadLetter.from_json(letter.to_json()) == letter


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]0;owned\x07\x1b[2J",
        "line one\nFAKE log line\r\n",
        "\u202egnp.exe",
        "a\u2028b\x85c",
        "\ud800 lone",
        "\x9b31m",
    ],
)
def test_reasons_topic_source_and_headers_are_printable(hostile: str) -> None:
    key = hostile.encode("utf-8", "replace")
    record = ConsumedRecord(value=b"{}", headers={hostile: hostile}, topic=f"raw{hostile}",
                            received_at=datetime(2026, 1, 1, tzinfo=UTC), key=key)  # fmt: skip
    letter = dead_letter(record, source="t", stage="route", reason=f"no route matches alert {hostile!s}",
                         max_bytes=LIMIT, alert_source=hostile)  # fmt: skip
    data = letter.data
    shown = [data.reason, data.original_topic, data.alert_source or "", *data.original_headers.items()]
    for text in (item for entry in shown for item in (entry if isinstance(entry, tuple) else (entry,))):
        assert printable(text) == text, text
        assert not any(char in text for char in "\x1b\n\r\x07\u202e\u2028\x85\x9b")
    assert data.reason.startswith("no route matches alert ")
    # What was escaped is kept exactly for a replay.
    [(name, exact)] = data.original_headers_base64.items()
    assert exact == hostile.encode("utf-8", "replace") and data.original_headers[name] == printable(hostile)
    assert DeadLetter.from_json(letter.to_json()) == letter


def test_printable_escapes_and_cuts() -> None:
    assert printable("ok text") == "ok text"
    assert printable("a\nb\tc\x1b[31m\u202e") == "a\\nb\\tc\\x1b[31m\\u202e"
    assert printable("\x01" * 100, 10) == "\\x01\\x01\\x... [cut]"


def test_many_headers_are_capped_and_counted() -> None:
    headers = {f"h{index}": "v" for index in range(MAX_HEADERS + 36)}
    letter = _letter(_record(b"{}", headers))
    assert len(letter.data.original_headers) == MAX_HEADERS and letter.data.original_headers_dropped == 36
    assert letter.data.truncated


def test_the_minimal_letter_is_small_and_describes_the_value() -> None:
    value = b"v" * LIMIT
    letter = minimal_dead_letter(_record(value, key=b"k" * LIMIT), source="t", stage="parse", reason="x" * LIMIT)
    assert _size(letter) < MIN_DEAD_LETTER_BYTES // 4 and letter.data.truncated and letter.data.original == b""
    assert (letter.data.original_size, letter.data.original_sha256) == (LIMIT, hashlib.sha256(value).hexdigest())


def test_a_letter_that_cannot_be_built_falls_back_to_the_minimal_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a case no cap foresaw")

    monkeypatch.setattr(deadletter, "_full_letter", broken)
    letter = _letter(_record(b"{}"))
    assert letter.data.truncated and letter.data.original == b"" and letter.data.reason == "bad"


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


TEXTS = st.text(max_size=8) | st.tuples(st.text(HOSTILE_CHARS, min_size=1, max_size=3), REPEATS).map(
    lambda drawn: drawn[0] * drawn[1]
)


@FUZZ
@given(
    value=st.binary(max_size=64) | st.sampled_from([b"v" * 2 * LIMIT]),
    headers=st.dictionaries(TEXTS, TEXTS, max_size=6)
    | st.integers(65, 300).map(lambda n: {f"h{i}": "v" for i in range(n)}),
    binary=st.dictionaries(TEXTS, HOSTILE_HEADER_VALUE.filter(lambda v: v is not None), max_size=3),
    key=HOSTILE_KEYS,
    topic=TEXTS,
    reason=TEXTS,
    alert_source=st.none() | TEXTS,
    correlationid=st.none() | TEXTS,
    limit=st.sampled_from([MIN_DEAD_LETTER_BYTES, 65_536, LIMIT]),
)
def test_a_dead_letter_is_built_for_any_record_within_the_limit(
    value: bytes, headers: dict[str, str], binary: dict[str, bytes], key: bytes | None, topic: str, reason: str,
    alert_source: str | None, correlationid: str | None, limit: int,
) -> None:  # fmt: skip
    record = ConsumedRecord(value, headers, topic, datetime(2026, 1, 1, tzinfo=UTC), 0, 1, key, binary)
    letter = dead_letter(record, source="t", stage="parse", reason=reason, max_bytes=limit,
                         alert_source=alert_source, correlationid=correlationid)  # fmt: skip
    assert _size(letter) <= limit
    data = letter.data
    assert (data.original_size, data.original_sha256) == (len(value), hashlib.sha256(value).hexdigest())
    assert value.startswith(data.original) and (data.truncated or data.original == value)
    for text in [data.reason, data.original_topic, data.alert_source or "", *data.original_headers.items()]:
        for part in text if isinstance(text, tuple) else (text,):
            assert printable(part) == part
    assert DeadLetter.from_json(letter.to_json()) == letter
