"""The trigger consumer on FastStream's in-memory TestKafkaBroker, with a recording starter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.middlewares import AckPolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from dsl.loader import load_workflows
from schemas import DeadLetter
from services.executor.catalog import action_catalog
from services.orchestrator.app import TriggerConsumer, subscribe_triggers
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import DSLRun
from services.orchestrator.defaults import WORKFLOWS_DIR
from services.orchestrator.starter import StartOutcome
from services.shared.backoff import GaveUp
from services.shared.deadletter import ConsumedRecord
from tests.orchestrator.factories import make_trigger
from tests.orchestrator.fakes import MAX_BLOB_BYTES, TemporalLikeStarter
from tests.shared.fakes import SizeLimitedPublisher


class RecordingStarter:
    """Stands in for Temporal: remembers runs, and answers 'duplicate' for a key it has seen."""

    def __init__(self) -> None:
        self.runs: list[DSLRun] = []

    async def start(self, run: DSLRun) -> StartOutcome:
        seen = any(r.trigger.data.idempotency_key == run.trigger.data.idempotency_key for r in self.runs)
        self.runs.append(run)
        return "duplicate" if seen else "started"


@pytest.fixture
def settings(tmp_path: Path) -> OrchestratorSettings:
    return OrchestratorSettings(workflows_dir=WORKFLOWS_DIR, health_port=0)


async def run_consumer(
    settings: OrchestratorSettings,
    messages: list[tuple[bytes, dict[str, str]]],
    variables: dict[str, Any] | None = None,
) -> Any:
    broker = settings.kafka.broker("test-orchestrator")
    starter = RecordingStarter()
    dead: list[DeadLetter] = []
    consumer = TriggerConsumer(
        load_workflows(settings.workflows_dir, action_catalog),
        starter,
        broker.publisher(settings.topics.dlq),
        "actions-q",
        max_message_bytes=settings.kafka.max_message_bytes,
        variables=variables,
    )
    subscribe_triggers(broker, settings, consumer)

    @broker.subscriber(settings.topics.dlq)
    async def collect(body: bytes) -> None:
        dead.append(DeadLetter.from_json(body))

    async with TestKafkaBroker(broker) as test_broker:
        for body, headers in messages:
            await test_broker.publish(body, settings.topics.triggers, key=b"k1", headers=headers)
    return starter, dead


async def test_valid_trigger_starts_its_workflow(settings: OrchestratorSettings) -> None:
    trigger = make_trigger()
    starter, dead = await run_consumer(settings, [(trigger.to_json(), trigger.kafka_headers())])
    assert dead == []
    [run] = starter.runs
    assert run.trigger == trigger
    assert run.definition.name == "triage"
    assert run.action_task_queue == "actions-q"
    # The results topic's limit travels in the run, so the workflow cuts its result to what the topic takes.
    assert run.max_message_bytes == settings.kafka.max_message_bytes
    # New runs use the full DSL; triage starts no other workflow, so it carries no other definition.
    assert (run.vars, run.workflows) == ({}, {})


async def test_workspace_variables_travel_in_every_run(settings: OrchestratorSettings) -> None:
    trigger = make_trigger()
    starter, _ = await run_consumer(settings, [(trigger.to_json(), {})], variables={"site": "eu-1"})
    assert starter.runs[0].vars == {"site": "eu-1"}


async def test_invalid_trigger_is_dead_lettered_with_original_bytes(settings: OrchestratorSettings) -> None:
    good = make_trigger()
    poison = b'{"not": "a trigger"'
    starter, dead = await run_consumer(
        settings, [(poison, {"correlationid": "c-1"}), (good.to_json(), good.kafka_headers())]
    )
    [letter] = dead
    assert letter.data.stage == "validate"
    assert letter.data.original == poison
    assert letter.data.original_topic == settings.topics.triggers
    assert letter.data.original_key == b"k1"
    assert letter.correlationid == "c-1"
    assert "invalid WorkflowTrigger" in letter.data.reason
    assert [r.trigger.id for r in starter.runs] == [good.id]


async def test_unknown_workflow_is_dead_lettered_at_start_stage(settings: OrchestratorSettings) -> None:
    trigger = make_trigger(workflow="no-such-flow")
    starter, dead = await run_consumer(settings, [(trigger.to_json(), trigger.kafka_headers())])
    [letter] = dead
    assert letter.data.stage == "start"
    assert "unknown workflow 'no-such-flow' (loaded: triage, triage-playbook)" in letter.data.reason
    assert (letter.correlationid, letter.causationid) == (trigger.correlationid, trigger.id)
    assert starter.runs == []


async def test_duplicate_trigger_is_handed_to_starter_and_acked(settings: OrchestratorSettings) -> None:
    trigger = make_trigger()
    starter, dead = await run_consumer(settings, [(trigger.to_json(), {})] * 2)
    assert dead == [] and len(starter.runs) == 2


def _consumer(starter: Any, limit: int = 1_048_576) -> tuple[TriggerConsumer, SizeLimitedPublisher]:
    dlq = SizeLimitedPublisher(limit)
    definitions = load_workflows(WORKFLOWS_DIR, action_catalog)
    return TriggerConsumer(definitions, starter, dlq, "actions-q", max_message_bytes=limit), dlq


def _record(value: bytes) -> ConsumedRecord:
    return ConsumedRecord(value=value, headers={}, topic="triggers", received_at=datetime.now(UTC), offset=4, key=b"k")


def _with_alert_payload(payload: dict[str, Any], key: str | None = None) -> bytes:
    trigger = make_trigger(key=key)
    alert = trigger.data.alert.model_copy(update={"payload": payload})
    return trigger.model_copy(update={"data": trigger.data.model_copy(update={"alert": alert})}).to_json()


def _nested_payload_trigger(depth: int) -> bytes:
    """A trigger whose alert payload nests ``depth`` objects deep, written by hand (serializers stop at ~255)."""
    template = _with_alert_payload({"deep": "PLACEHOLDER"})
    return template.replace(b'"PLACEHOLDER"', b'{"n":' * depth + b"1" + b"}" * depth)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "WorkflowId is not set"),
        ("k" * 1001, "WorkflowId exceeds maximum allowed length (1001/1000)"),
    ],
)
async def test_a_start_temporal_refuses_as_invalid_is_dead_lettered(key: str, reason: str) -> None:
    consumer, dlq = _consumer(TemporalLikeStarter())
    trigger = make_trigger()
    trigger = trigger.model_copy(update={"data": trigger.data.model_copy(update={"idempotency_key": key})})
    await consumer.consume(_record(trigger.to_json()))
    [(body, _, _)] = dlq.sent
    letter = DeadLetter.from_json(body)
    assert letter.data.stage == "start"
    assert letter.data.reason.startswith("Temporal refused the start: RPCError:") and reason in letter.data.reason


async def test_an_input_over_temporals_blob_limit_is_dead_lettered_with_the_trigger_cut() -> None:
    starter = TemporalLikeStarter()
    consumer, dlq = _consumer(starter)
    big = _with_alert_payload({"blob": "b" * (MAX_BLOB_BYTES + 1000)})
    await consumer.consume(_record(big))
    [(body, _, _)] = dlq.sent
    letter = DeadLetter.from_json(body)
    assert "Blob data size exceeds limit" in letter.data.reason
    assert letter.data.truncated and letter.data.original_size == len(big) and big.startswith(letter.data.original)
    assert starter.runs == [] and dlq.refused == 0


# pydantic 2.14 decodes a trigger whose payload nests 196 deep, but not the workflow input (DSLRun) around it.
@pytest.mark.parametrize("depth", [100, *range(193, 200), 250, 1000])
async def test_deep_payloads_either_start_or_are_dead_lettered(depth: int) -> None:
    starter = TemporalLikeStarter()
    consumer, dlq = _consumer(starter)
    await consumer.consume(_record(_nested_payload_trigger(depth)))
    assert len(starter.runs) + len(dlq.sent) == 1
    if dlq.sent:
        letter = DeadLetter.from_json(dlq.sent[0][0])
        assert letter.data.stage in ("validate", "start"), letter.data.reason
    else:  # what was started can be read back by the workflow
        converter = pydantic_data_converter.payload_converter
        converter.from_payloads(converter.to_payloads([starter.runs[0]]), [DSLRun])


async def test_temporal_unavailable_is_not_dead_lettered() -> None:
    class Down:
        async def start(self, run: DSLRun) -> StartOutcome:
            raise GaveUp("starting workflow failed 99 times; last error: UNAVAILABLE")

    consumer, dlq = _consumer(Down())
    with pytest.raises(GaveUp):
        await consumer.consume(_record(make_trigger().to_json()))
    assert dlq.sent == []


def _records(*values: bytes) -> list[ConsumedRecord]:
    return [
        ConsumedRecord(value=value, headers={}, topic="triggers", received_at=datetime.now(UTC), offset=offset)
        for offset, value in enumerate(values)
    ]


async def test_a_batch_starts_concurrently_within_the_bound_and_dead_letters_its_poison_in_order() -> None:
    class SlowStarter(RecordingStarter):
        def __init__(self) -> None:
            super().__init__()
            self.running = self.most = 0

        async def start(self, run: DSLRun) -> StartOutcome:
            self.running += 1
            self.most = max(self.most, self.running)
            await asyncio.sleep(0.01)
            self.running -= 1
            return await super().start(run)

    starter, dlq = SlowStarter(), SizeLimitedPublisher(1_048_576)
    consumer = TriggerConsumer(
        load_workflows(WORKFLOWS_DIR, action_catalog),
        starter,
        dlq,
        "actions-q",
        max_message_bytes=1_048_576,
        start_concurrency=3,
    )
    good = [make_trigger() for _ in range(8)]
    values = [t.to_json() for t in good[:4]] + [b"{poison", b"[]"] + [t.to_json() for t in good[4:]]
    await consumer.consume_batch(_records(*values))
    assert sorted(run.trigger.id for run in starter.runs) == sorted(t.id for t in good)
    assert starter.most == 3
    letters = [DeadLetter.from_json(body) for body, _, _ in dlq.sent]
    assert [(letter.data.original_offset, letter.data.stage) for letter in letters] == [
        (4, "validate"),
        (5, "validate"),
    ]


async def test_a_start_that_raises_fails_the_whole_batch_and_dead_letters_nothing() -> None:
    class DownForOne(RecordingStarter):
        async def start(self, run: DSLRun) -> StartOutcome:
            if run.trigger.id == doomed.id:
                raise GaveUp("starting workflow failed 99 times; last error: UNAVAILABLE")
            return await super().start(run)

    doomed = make_trigger()
    consumer, dlq = _consumer(DownForOne())
    with pytest.raises(ExceptionGroup) as raised:
        await consumer.consume_batch(_records(make_trigger().to_json(), doomed.to_json(), b"{poison"))
    assert raised.group_contains(GaveUp)
    assert dlq.sent == []  # not even the poison's: the batch is read again whole


async def test_the_subscriber_takes_batches_of_the_configured_size(settings: OrchestratorSettings) -> None:
    settings = settings.model_copy(update={"batch_max_records": 9})
    broker = settings.kafka.broker("test-orchestrator")
    consumer, _ = _consumer(RecordingStarter())
    subscribe_triggers(broker, settings, consumer)
    [subscriber] = broker.subscribers
    assert isinstance(subscriber, BatchSubscriber) and subscriber.max_records == 9
    assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR


def test_batch_settings_are_bounded() -> None:
    for bad in ({"batch_max_records": 0}, {"start_concurrency": 0}, {"batch_max_records": 50_000}):
        with pytest.raises(ValueError):
            OrchestratorSettings(**bad)
