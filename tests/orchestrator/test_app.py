"""The trigger consumer on FastStream's in-memory TestKafkaBroker, with a recording starter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from schemas import DeadLetter
from services.orchestrator.app import TriggerConsumer, subscribe_triggers
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import DSLRun
from services.orchestrator.dsl.loader import load_workflows
from services.orchestrator.starter import StartOutcome
from tests.conftest import REPO
from tests.orchestrator.factories import make_trigger


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
    return OrchestratorSettings(workflows_dir=REPO / "workflows", health_port=0)


async def run_consumer(settings: OrchestratorSettings, messages: list[tuple[bytes, dict[str, str]]]) -> Any:
    broker = settings.kafka.broker("test-orchestrator")
    starter = RecordingStarter()
    dead: list[DeadLetter] = []
    consumer = TriggerConsumer(
        load_workflows(settings.workflows_dir),
        starter,
        broker.publisher(settings.topics.dlq),
        "actions-q",
        max_message_bytes=settings.kafka.max_message_bytes,
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


async def test_invalid_trigger_is_dead_lettered_with_original_bytes(settings: OrchestratorSettings) -> None:
    good = make_trigger()
    poison = b'{"not": "a trigger"'
    starter, dead = await run_consumer(
        settings, [(poison, {"correlationid": "c-1"}), (good.to_json(), good.kafka_headers())]
    )
    [letter] = dead
    assert letter.data.stage == "orchestrator.decode"
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
    assert letter.data.stage == "orchestrator.start"
    assert "unknown workflow 'no-such-flow' (loaded: triage)" in letter.data.reason
    assert (letter.correlationid, letter.causationid) == (trigger.correlationid, trigger.id)
    assert starter.runs == []


async def test_duplicate_trigger_is_handed_to_starter_and_acked(settings: OrchestratorSettings) -> None:
    trigger = make_trigger()
    starter, dead = await run_consumer(settings, [(trigger.to_json(), {})] * 2)
    assert dead == [] and len(starter.runs) == 2
