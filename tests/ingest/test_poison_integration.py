"""Poison on the real (embedded Tansu) broker: every class of hostile record ends as its trigger or one dead
letter, and a good alert sent after them on the same partition still becomes a trigger (nothing stalls)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from schemas import DeadLetter, WorkflowTrigger
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from tests.ingest.kafka_io import committed, create_topics, fresh_ingest_settings, read

pytestmark = pytest.mark.integration
MIB = 1_048_576


@pytest.fixture
async def ingest(kafka_bootstrap: str) -> AsyncIterator[IngestSettings]:
    """The ingest app on fresh topics (one partition each), with the default 1 MiB message limit."""
    settings = fresh_ingest_settings(kafka_bootstrap)
    assert settings.kafka.max_message_bytes == MIB
    await create_topics(kafka_bootstrap, settings.topics)
    app, _ = build_app(settings)
    await app.start()
    try:
        yield settings
    finally:
        await app.stop()


def alert(name: str, **fields: Any) -> bytes:
    """An Alertmanager v4 message with one firing alert named ``name`` (its own fingerprint)."""
    item = {"status": "firing", "labels": {"alertname": name}, "fingerprint": name, **fields}
    return orjson.dumps({"version": "4", "status": "firing", "alerts": [item]})


def nested_alert(name: str, depth: int) -> bytes:
    """An alert whose payload nests ``depth`` objects deep: orjson reads it, but writes at most 255 levels."""
    return alert(name, deep="PLACEHOLDER").replace(b'"PLACEHOLDER"', b'{"n":' * depth + b"1" + b"}" * depth)


async def test_every_poison_class_ends_as_trigger_or_dead_letter_and_the_partition_moves_on(
    ingest: IngestSettings, kafka_bootstrap: str
) -> None:
    topics = ingest.topics
    garbage = b"\xfe" + b"g" * (3 * MIB // 2)
    # (value, key, headers, timestamp_ms, what it must become)
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int | None, str]] = [
        (alert("Headers"), b"h", [("x-null", None), ("x-bin", b"\xff\xfe"), ("x-rep", b"1"), ("x-rep", b"2")],
         None, "trigger"),
        (None, b"tombstone", [], None, "parse"),
        (b"{not json", None, [("content-type", b"application/json")], None, "parse"),
        (alert("TsMinus1"), None, [], -1, "trigger"),
        (alert("TsZero"), None, [], 0, "trigger"),
        (alert("TsHuge"), None, [], 2**63 - 1, "trigger"),
        (alert("Year9999", startsAt="9999-12-31T23:59:59-01:00"), None, [], None, "parse"),
        (alert("NumberLabel", labels={"alertname": "NumberLabel", "port": 443}), None, [], None, "parse"),
        (nested_alert("Deep", 300), None, [], None, "validate"),
        (alert("Huge", annotations={"dump": "x" * (9 * MIB // 10)}), b"huge", [], None, "validate"),
        (garbage, None, [], None, "parse"),
        (alert("Good"), b"good", [], None, "trigger"),
    ]  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", max_request_size=4 * MIB)
    await producer.start()
    try:
        for value, key, headers, timestamp, _ in records:
            await producer.send_and_wait(topics.raw, value, key=key, headers=headers, timestamp_ms=timestamp)
    finally:
        await producer.stop()

    want_triggers = [r for r in records if r[4] == "trigger"]
    want_letters = [r for r in records if r[4] != "trigger"]
    triggers = [WorkflowTrigger.from_json(t.value) for t in await read(kafka_bootstrap, topics.triggers, 5, 60)]
    assert [t.data.alert.name for t in triggers] == ["Headers", "TsMinus1", "TsZero", "TsHuge", "Good"]
    assert len(want_triggers) == len(triggers)
    assert triggers[2].time.year == 1970

    dead = await read(kafka_bootstrap, topics.dlq, len(want_letters), 60)
    letters = [DeadLetter.from_json(d.value) for d in dead]
    assert [letter.data.stage for letter in letters] == [r[4] for r in want_letters]
    assert all(len(d.value) <= MIB for d in dead)
    by_offset = {letter.data.original_offset: letter for letter in letters}

    tombstone = by_offset[1]
    assert tombstone.data.original == b"" and tombstone.data.original_key == b"tombstone"
    assert "empty" in tombstone.data.reason
    assert by_offset[2].data.reason.startswith("not JSON")
    assert "past the year 9999" in by_offset[6].data.reason
    assert "labels must map to strings; not a string: port" in by_offset[7].data.reason
    assert "cannot be serialized" in by_offset[8].data.reason and not by_offset[8].data.truncated

    huge = by_offset[9]
    assert "over the 1048576-byte limit" in huge.data.reason
    # The original (0.9 MiB) as base64 is more than the limit: the dead letter carries its start, and says so.
    assert huge.data.truncated and huge.data.original_size == len(records[9][0] or b"")
    assert (records[9][0] or b"").startswith(huge.data.original) and len(huge.data.original) > MIB // 2

    cut = by_offset[10]
    assert cut.data.truncated and cut.data.original_size == len(garbage) and garbage.startswith(cut.data.original)

    async with asyncio.timeout(30):  # every record, poison included, was committed
        while await committed(kafka_bootstrap, ingest.group_id, topics.raw) != len(records):
            await asyncio.sleep(0.2)


async def test_a_record_with_huge_hostile_headers_is_dead_lettered_and_the_next_one_is_processed(
    ingest: IngestSettings, kafka_bootstrap: str
) -> None:
    """The audit's poison: a 200 KB ``alertmesh-source`` of control characters made building the dead letter
    raise, and the record was read again forever. With it, a record of 250 binary headers (close to the record
    limit) and a key of terminal escapes; the good alert after them on the same partition is still processed."""
    topics = ingest.topics
    control = bytes(range(1, 32)) * (200_000 // 31)
    many = [(f"x-\x1b[31m{index}", b"\xff\x00\x1b" * 1300) for index in range(250)]  # about 1 MB of headers
    records: list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]] = [
        (alert("Poison"), b"k", [("alertmesh-source", control)]),
        (alert("Headers"), b"\x1b]0;title\x07" * 500, many),
        (alert("Good"), b"good", []),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", max_request_size=4 * MIB)
    await producer.start()
    try:
        for value, key, headers in records:
            await producer.send_and_wait(topics.raw, value, key=key, headers=headers)
    finally:
        await producer.stop()

    async with asyncio.timeout(60):  # every record, poison included, was committed
        while await committed(kafka_bootstrap, ingest.group_id, topics.raw) != len(records):
            await asyncio.sleep(0.2)
    triggers = [WorkflowTrigger.from_json(t.value) for t in await read(kafka_bootstrap, topics.triggers, 2, 60)]
    assert sorted(t.data.alert.name for t in triggers) == ["Good", "Headers"]
    dead = await read(kafka_bootstrap, topics.dlq, 1, 60)
    [letter] = [DeadLetter.from_json(d.value) for d in dead]
    assert all(len(d.value) <= MIB for d in dead)
    assert letter.data.original_offset == 0 and letter.data.original == records[0][0]
    assert letter.data.alert_source is not None and len(letter.data.alert_source) < 300
    assert "\x01" not in letter.data.alert_source and "\x1b" not in letter.data.reason
    header = letter.data.original_headers["alertmesh-source"]
    assert header.startswith("\\x01\\x02") and len(header) < 300
    assert letter.data.original_headers_cut["alertmesh-source"].size == len(control)
