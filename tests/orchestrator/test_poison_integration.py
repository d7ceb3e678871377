"""Poison on the real broker and Temporal server: every class of hostile trigger record ends as one workflow
start or one dead letter, and a good trigger sent after them on the same partition still runs (nothing stalls)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from tests.orchestrator.conftest import Mesh
from tests.orchestrator.factories import make_trigger

pytestmark = pytest.mark.integration
MIB = 1_048_576


def changed(trigger: WorkflowTrigger, **data: Any) -> bytes:
    """The trigger's JSON with fields of its ``data`` replaced (written as JSON, so any value goes)."""
    document = orjson.loads(trigger.to_json())
    document["data"].update(data)
    return orjson.dumps(document)


def deep_payload(depth: int) -> bytes:
    template = changed(
        make_trigger(), alert=orjson.loads(make_trigger().to_json())["data"]["alert"] | {"payload": {"d": 0}}
    )
    return template.replace(b'{"d":0}', b'{"n":' * depth + b"1" + b"}" * depth)


async def test_every_poison_class_ends_as_start_or_dead_letter_and_the_partition_moves_on(mesh: Mesh) -> None:
    topics = mesh.settings.topics
    headers_ok, good = make_trigger(), make_trigger()
    refused_by_size = changed(make_trigger(), inputs={"blob": "b" * (2 * MIB + 100_000)})  # over Temporal's 2 MiB
    over_grpc_frame = changed(make_trigger(), inputs={"blob": "b" * (4 * MIB + 100_000)})  # over gRPC's 4 MiB
    # (value, key, headers, timestamp_ms, stage it must be dead-lettered at, or "started")
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int | None, str]] = [
        (headers_ok.to_json(), b"h", [("x-null", None), ("x-bin", b"\xff"), ("correlationid", b"c1"),
                                      ("correlationid", b"c2")], None, "started"),
        (None, b"tombstone", [], 2**63 - 1, "validate"),
        (b"{not json", None, [("content-type", b"application/json")], -1, "validate"),
        (b"\xff\xfe", None, [("content-type", b"text/plain")], 0, "validate"),
        (changed(make_trigger(), idempotency_key="k" * 1001), b"long-id", [], None, "start"),
        (changed(make_trigger(), idempotency_key=""), None, [], None, "start"),
        (changed(make_trigger(), workflow=7), None, [], None, "validate"),
        (changed(make_trigger(), workflow="no-such-flow"), None, [], None, "start"),
        (refused_by_size, b"big", [], None, "start"),
        (over_grpc_frame, b"bigger", [], None, "start"),
        (deep_payload(300), None, [], None, "validate"),
        (good.to_json(), good.data.idempotency_key.encode(), [], None, "started"),
    ]  # fmt: skip
    producer = AIOKafkaProducer(**mesh.settings.kafka.client_kwargs(), acks="all", max_request_size=8 * MIB)
    await producer.start()
    try:
        for value, key, headers, timestamp, _ in records:
            await producer.send_and_wait(topics.triggers, value, key=key, headers=headers, timestamp_ms=timestamp,
                                         partition=0)  # fmt: skip
    finally:
        await producer.stop()

    results = [r for r, _ in await mesh.read(topics.results, WorkflowResult, 2, timeout=60)]
    started = [r.data.workflow_id for r in results if isinstance(r, WorkflowResult)]
    assert started == [headers_ok.data.idempotency_key, good.data.idempotency_key]
    want = [(offset, stage) for offset, (*_, stage) in enumerate(records) if stage != "started"]
    events = [e for e, _ in await mesh.read(topics.dlq, DeadLetter, len(want), timeout=60)]
    letters = [e for e in events if isinstance(e, DeadLetter)]
    assert [(letter.data.original_offset, letter.data.stage) for letter in letters] == want
    by_offset = {letter.data.original_offset: letter for letter in letters}

    assert by_offset[1].data.original == b"" and by_offset[1].data.original_key == b"tombstone"
    assert "WorkflowId exceeds maximum allowed length (1001/1000)" in by_offset[4].data.reason
    assert "WorkflowId is not set" in by_offset[5].data.reason
    assert "unknown workflow 'no-such-flow'" in by_offset[7].data.reason
    for offset, value in ((8, refused_by_size), (9, over_grpc_frame)):
        letter = by_offset[offset]
        assert letter.data.reason.startswith("Temporal refused the start: RPCError:")
        assert letter.data.truncated and letter.data.original_size == len(value)
        assert value.startswith(letter.data.original) and len(letter.data.original) > MIB // 2
    assert "Blob data size exceeds limit" in by_offset[8].data.reason
    assert "recursion limit exceeded" in by_offset[10].data.reason
