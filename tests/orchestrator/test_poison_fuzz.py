"""Property-based fuzzing of the trigger consumer's handling, in process: FastStream's real parser composed with
ours, then ``TriggerConsumer.consume`` with a dead-letter publisher that enforces the producer's size limit and a
starter that refuses what Temporal refuses.

Whatever the record, no exception escapes and it ends as exactly one workflow start or exactly one dead letter,
written within the size limit. ``--hypothesis-show-statistics`` prints the number of examples run.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import event, given
from hypothesis import strategies as st
from temporalio.contrib.pydantic import pydantic_data_converter

from dsl.loader import load_workflows
from schemas import DeadLetter
from services.executor.catalog import action_catalog
from services.orchestrator.app import TriggerConsumer
from services.orchestrator.contracts import DSLRun
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.orchestrator.factories import make_trigger
from tests.orchestrator.fakes import MAX_BLOB_BYTES, TemporalLikeStarter
from tests.shared.fakes import SizeLimitedPublisher
from tests.shared.strategies import (
    EDGE_TIMES,
    FUZZ,
    HEADER_LISTS,
    JSON,
    TEXT,
    TIMESTAMPS,
    consumed,
    dumps,
    kafka_record,
    nested,
)

DEFINITIONS = load_workflows(WORKFLOWS_DIR, action_catalog)
#: Fields of a trigger the fuzzer replaces, as paths into its JSON.
FIELDS = [
    ("id",), ("time",), ("correlationid",), ("type",), ("data", "workflow"), ("data", "idempotency_key"),
    ("data", "inputs"), ("data", "alert", "status"), ("data", "alert", "starts_at"), ("data", "alert", "labels"),
    ("data", "alert", "payload"),
]  # fmt: skip


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for name in path[:-1]:
        document = document[name]
    document[path[-1]] = value


@st.composite
def trigger_value(draw: st.DrawFn) -> bytes | None:
    """Mostly a trigger as ingest writes it, with one part replaced by something hostile; sometimes not one."""
    kind = draw(st.integers(0, 9))
    if kind == 8:
        return draw(st.binary(max_size=64) | st.sampled_from([b"", b"{not json", b"\xff", b"null", b"[]"]))
    if kind == 9:
        return None
    document = orjson.loads(make_trigger().to_json())
    change = draw(st.sampled_from(["none", "field", "field", "key", "workflow", "deep", "huge", "drop"]))
    if change == "field":
        _set(document, draw(st.sampled_from(FIELDS)), draw(JSON | EDGE_TIMES))
    elif change == "key":
        _set(document, ("data", "idempotency_key"), draw(st.sampled_from(["", "k" * 1000, "k" * 1001, "\x00\n"])))
    elif change == "workflow":
        _set(document, ("data", "workflow"), draw(TEXT | st.just("triage")))
    elif change == "deep":
        depth = draw(st.sampled_from([1, 150, 195, 196, 197, 250, 255, 256, 300, 1000]))
        _set(document, ("data", "alert", "payload"), {"deep": nested(depth)})
    elif change == "huge":
        size = draw(st.sampled_from([20_000, 70_000, MAX_BLOB_BYTES + 1]))
        where = draw(st.sampled_from([("data", "inputs"), ("correlationid",), ("id",), ("data", "workflow")]))
        _set(document, where, {"blob": "b" * size} if where == ("data", "inputs") else "b" * size)
    elif change == "drop":
        path = draw(st.sampled_from(FIELDS[:6]))
        parent = document
        for name in path[:-1]:
            parent = parent[name]
        parent.pop(path[-1], None)
    return dumps(document)


@FUZZ
@given(
    value=trigger_value(),
    key=st.none() | st.binary(max_size=16),
    headers=HEADER_LISTS,
    timestamp=TIMESTAMPS,
    limit=st.sampled_from([16_384, 65_536]),
)
async def test_every_trigger_record_ends_as_one_start_or_one_dead_letter(
    value: bytes | None, key: bytes | None, headers: list[Any], timestamp: int, limit: int
) -> None:
    record = await consumed(kafka_record("alertmesh.triggers", value, key, headers, timestamp))
    starter, dlq = TemporalLikeStarter(), SizeLimitedPublisher(limit)
    consumer = TriggerConsumer(DEFINITIONS, starter, dlq, "actions-q", max_message_bytes=limit)

    await consumer.consume(record)

    assert dlq.refused == 0, "a dead letter over the limit reached the producer"
    assert len(starter.runs) + len(dlq.sent) == 1
    if starter.runs:
        event("started")
        converter = pydantic_data_converter.payload_converter  # the workflow can read what was started
        converter.from_payloads(converter.to_payloads(starter.runs), [DSLRun])
    for body, letter_key, _ in dlq.sent:
        letter = DeadLetter.from_json(body)
        event(f"dead letter {letter.data.stage}{' (cut)' if letter.data.truncated else ''}")
        assert letter.data.stage in {"validate", "start"}
        assert letter.data.original_size == len(value or b"") and (value or b"").startswith(letter.data.original)
        assert letter.data.truncated or letter.data.original == (value or b"")
        assert letter_key == letter.data.original_key
