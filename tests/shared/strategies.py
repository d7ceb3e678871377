"""Hypothesis strategies and helpers shared by the consumers' fuzz tests: hostile Kafka records and JSON."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import orjson
from aiokafka import ConsumerRecord
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaBatchParser
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from services.shared.consuming import consumed_batch, keep_bodies_raw, parse_batch
from services.shared.deadletter import ConsumedRecord
from services.shared.span_store import is_segment

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
#: Header names and values a hostile or broken producer sends: terminal escapes, newlines, bidi overrides, invalid
#: UTF-8, NULs, and sizes from a byte to most of a record (a 200 KB value of control characters is 1.2 MB escaped).
HOSTILE_BYTES = st.sampled_from(
    [b"\x1b]0;t\x07", b"\x1b[2J", b"\xff\xfe", b"\x00", "\u202e".encode(), b"\xc3", b"\n\r", b"\x9b", b"\x01\x02\x03"]
) | st.binary(min_size=1, max_size=4)
REPEATS = st.sampled_from([1, 40, 3_000, 70_000])
HOSTILE_HEADER_VALUE = (
    st.none() | st.binary(max_size=16) | st.tuples(HOSTILE_BYTES, REPEATS).map(lambda drawn: drawn[0] * drawn[1])
)
HOSTILE_CHARS = st.characters(categories=("Cc", "Cf", "Zl", "Zp")) | st.sampled_from("\x1b\n\r\u202e\u2028\x85\\ü")
HOSTILE_HEADER_NAME = (
    HEADER_NAME
    | st.text(HOSTILE_CHARS, min_size=1, max_size=12)
    | st.tuples(st.text(HOSTILE_CHARS, min_size=1, max_size=2), st.sampled_from([70, 2_000])).map(
        lambda drawn: drawn[0] * drawn[1]
    )
)


@st.composite
def hostile_headers(draw: st.DrawFn) -> list[tuple[str, bytes | None]]:
    """A few hostile headers, or many (up to 400, values up to a few KB: together most of a record)."""
    if draw(st.integers(0, 3)) > 0:
        return draw(st.lists(st.tuples(HOSTILE_HEADER_NAME, HOSTILE_HEADER_VALUE), max_size=8))
    count = draw(st.sampled_from([65, 120, 400]))
    value = draw(st.tuples(HOSTILE_BYTES, st.sampled_from([1, 500, 2_000])).map(lambda drawn: drawn[0] * drawn[1]))
    prefix = draw(st.sampled_from(["h", "x-\x1b[", "\u202e"]))
    return [(f"{prefix}{index}", value) for index in range(count)]


#: Record keys: none, short bytes, or long hostile ones (a key is copied into its dead letter and its record key).
HOSTILE_KEYS = st.none() | st.binary(max_size=16) | st.tuples(HOSTILE_BYTES, REPEATS).map(lambda d: d[0] * d[1])
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


#: Characters a terminal acts on instead of showing: C0, DEL, C1, bidi embeddings/overrides/isolates/marks and the
#: Unicode line and paragraph separators.
_CONTROL_CODES = [
    *range(0x20),
    *range(0x7F, 0xA0),
    0x61C,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
#: Written out here, not taken from the code under test, so that a character the code forgets fails the tests.
TERMINAL_CONTROL_CHARACTERS = frozenset(chr(code) for code in [*_CONTROL_CODES, 0x2028, 0x2029])
TERMINAL_CONTROLS = st.sampled_from(sorted(TERMINAL_CONTROL_CHARACTERS))


def controls_in(line: str) -> set[str]:
    """The characters of ``line`` a terminal acts on (``TERMINAL_CONTROL_CHARACTERS``)."""
    return TERMINAL_CONTROL_CHARACTERS.intersection(line)


#: Text from data as an attacker writes it: ordinary text with control characters and whole escape sequences
#: (clear screen, window title, colours, cursor moves, a bidi override reversing what follows).
HOSTILE_TEXT = st.lists(
    st.one_of(
        st.text(max_size=6),
        TERMINAL_CONTROLS,
        st.sampled_from(["\x1b[2J", "\x1b]0;owned\x07", "\x1b[31m", "\x1b[1A\r", "\x9b6n", "\u202egnp.exe", "\r\n"]),
    ),
    max_size=8,
).map("".join)

#: File names a user may keep in a directory the span store also writes (``ALERTMESH_TRACES_DIR``): any name,
#: ``*.jsonl`` ones above all, and names that look almost like a segment's. Pruning must never delete one.
FOREIGN_FILE_NAMES = (
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=30).map(
        lambda name: name + ".jsonl"
    )
    | st.sampled_from(
        [
            "notes.jsonl",
            "events-2024.jsonl",
            "x.spans.jsonl",
            "alertmesh-ingest-1-2-0001.jsonl",  # a segment's name without the store's own suffix
            "alertmesh-ingest-1-17000000000000-0001.jsonl",  # an earlier version's, but 14 digits of ms
            "Alertmesh-ingest-1-1700000000000-0001.jsonl",
            "alertmesh-ingest-1-2-1.spans.jsonl",  # sequence too short
            "alertmesh ingest-1-2-0001.spans.jsonl",  # a space: no service name has one
            "alertmesh-ingest-1-2-0001.spans.jsonl.bak",
            ".spans.jsonl",
            "-1-2-0001.spans.jsonl",
            "spans.jsonl",
        ]
    )
).filter(lambda name: len(name.encode()) <= 255 and not is_segment(Path(name)))
# Regex patterns users write (routing's {regex: ...}, FN.regex_*), for the RE2 engine (dsl.patterns).
_REGEX_ATOM = st.sampled_from(["a", "b", "c", ".", "[ab]", "[^a]", "\\d", "[a-c0-1]", "x", "\\."])
_QUANTIFIER = st.sampled_from(["", "", "*", "+", "?", "{1,3}", "{2}", "*?", "+?", "??"])


def _regex(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Sequences of quantified atoms or groups, and alternations of them (never a quantifier on a quantifier). A
    group's body never matches empty: repeating one that does is where the engines legitimately differ (Python's re
    ends the repetition at an empty pass, RE2 finds the longer leftmost-first match)."""
    body = inner.filter(lambda text: re.fullmatch(text, "") is None)
    group = body.map(lambda text: f"({text})") | body.map(lambda text: f"(?:{text})")
    piece = st.tuples(_REGEX_ATOM | group, _QUANTIFIER).map("".join)
    sequence = st.lists(piece, min_size=1, max_size=4).map("".join)
    return sequence | st.lists(sequence, min_size=2, max_size=3).map("|".join)


#: Patterns both RE2 and Python's ``re`` accept and read alike on ``REGEX_TEXT`` (ASCII, no newline): an oracle.
REGEX_PATTERNS: st.SearchStrategy[str] = st.recursive(_REGEX_ATOM, _regex, max_leaves=8)
REGEX_TEXT = st.text(alphabet="abcx01.", max_size=12)
#: Patterns that make a backtracking engine take exponential or high-polynomial time on a long text.
PATHOLOGICAL_PATTERNS = st.sampled_from(
    ["(a+)+b", "(a|aa)+b", "(a*)*b", "(.*a){12}", ".*disk.*full.*", "(x+x+)+y", "(\\w+\\s?)+$", "(a|a?)+b",
     "([a-z]+)*[A-Z]", ".*.*.*.*.*=.*"]
)  # fmt: skip
#: Patterns RE2 cannot run (backreferences, lookaround, atomic and possessive forms, \Z, verbose mode, repetition
#: over its limit): validation must refuse each with a reason, never accept it or crash.
RE2_REFUSED_PATTERNS = st.sampled_from(
    ["(a)\\1", "(?P<w>a)(?P=w)", "a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b", "(?>a+)", "a++", "a*+", "a\\Z",
     "(?x) a", "a{1001}", "((a{100}){100}){100}", "(\\w+)\\s\\1", "(?<=\\d{3})x", "^(?=.*\\d).+$"]
)  # fmt: skip
