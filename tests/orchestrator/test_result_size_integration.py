"""Sizes at the limits, on the real Temporal dev server (and broker): a result too large for the results topic is
published cut, naming what was cut, and the run finishes; a run input too large for Temporal is dead-lettered."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Worker

from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from services.orchestrator.contracts import DSLRun
from services.orchestrator.publish import ResultPublisher
from services.orchestrator.result_size import RECORD_OVERHEAD_BYTES
from services.orchestrator.workflow import DSLWorkflow
from services.shared.temporal import TemporalSettings
from tests.conftest import TemporalServer
from tests.ingest.kafka_io import read
from tests.orchestrator.conftest import OVERSIZED, running_mesh, running_worker
from tests.orchestrator.factories import definition, make_trigger
from tests.orchestrator.fake_executor import fake_executor_worker

pytestmark = pytest.mark.integration
LIMIT = 16_384
HISTORIES = Path(__file__).parent / "histories"


def oversized_trigger(size: int) -> WorkflowTrigger:
    trigger = make_trigger(workflow="oversized")
    return trigger.model_copy(update={"data": trigger.data.model_copy(update={"inputs": {"size": size}})})


async def test_a_result_over_the_topic_limit_is_published_cut_and_the_run_finishes(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    async with running_mesh(kafka_bootstrap, temporal_server.address, max_message_bytes=LIMIT) as mesh:
        trigger = oversized_trigger(100_000)
        await mesh.send(trigger)
        [record] = await read(kafka_bootstrap, mesh.settings.topics.results, 1, timeout=60)
        assert len(record.value) <= LIMIT - RECORD_OVERHEAD_BYTES
        event = WorkflowResult.from_json(record.value)
        result = event.data
        assert result.status == "completed" and result.workflow_id == trigger.data.idempotency_key
        assert [cut.path for cut in result.cut] == ["/returns", "/actions/0/result"]
        assert result.cut[1].bytes == 100_002  # the 100 000 characters as a JSON string
        assert result.actions[0].result == {"$cut": {"bytes": 100_002, "sha256": result.cut[1].sha256}}

        handle = mesh.orchestrator.client.get_workflow_handle(result.workflow_id, result_type=WorkflowResult)
        assert await handle.result() == event  # the return value is the same, small, result
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


class RefusingPublisher:
    """A results topic whose broker takes records of at most ``limit`` bytes, below KAFKA_MAX_MESSAGE_BYTES."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.attempts: list[int] = []
        self.published: list[bytes] = []

    async def publish(self, value: bytes, **_: Any) -> None:
        self.attempts.append(len(value))
        if len(value) > self.limit:
            raise MessageSizeTooLargeError(f"{len(value)} bytes")
        self.published.append(value)


async def test_a_result_the_broker_still_refuses_is_published_with_everything_cut_once(
    temporal_server: TemporalServer,
) -> None:
    client = await TemporalSettings(address=temporal_server.address).connect()
    tag = uuid.uuid4().hex[:8]
    workflows, actions = f"wf-{tag}", f"actions-{tag}"
    topic = RefusingPublisher(limit=4_096)
    publisher = ResultPublisher(topic)  # type: ignore[arg-type]
    worker = Worker(client, task_queue=workflows, workflows=[DSLWorkflow], activities=[publisher.publish_result])
    run = DSLRun(definition=OVERSIZED, trigger=oversized_trigger(6_000), action_task_queue=actions)
    async with running_worker(worker), running_worker(fake_executor_worker(client, actions)):
        returned = await client.execute_workflow(
            DSLWorkflow.run, run, id=f"refused-{tag}", task_queue=workflows, result_type=WorkflowResult
        )
    assert len(topic.attempts) == 2 and topic.attempts[0] > 12_000  # refused once, never retried
    [published] = topic.published
    assert WorkflowResult.from_json(published) == returned
    assert returned.data.status == "completed" and returned.data.actions == []
    assert [cut.path for cut in returned.data.cut] == ["/returns", "/actions"]
    if os.environ.get("ALERTMESH_RECORD_HISTORIES") == "1":
        history = await client.get_workflow_handle(f"refused-{tag}").fetch_history()
        (HISTORIES / "result-refused-then-cut.json").write_text(history.to_json())


async def test_a_run_input_over_temporals_limit_is_dead_lettered_and_the_next_trigger_starts(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    # The definition snapshot travels in the run's input: a 2.5 MB one makes Temporal refuse the start.
    huge = definition(
        [{"ref": "a", "action": "core.transform.reshape", "args": {"value": "x" * 2_500_000}}], name="huge"
    )
    async with running_mesh(kafka_bootstrap, temporal_server.address, extra_definitions={"huge": huge}) as mesh:
        refused, good = make_trigger(workflow="huge"), make_trigger()
        await mesh.send(refused)
        await mesh.send(good)
        [(letter, _)] = await mesh.read(mesh.settings.topics.dlq, DeadLetter, 1)
        assert isinstance(letter, DeadLetter) and letter.data.stage == "start"
        assert "Blob data size exceeds limit" in letter.data.reason and letter.correlationid == refused.correlationid
        [(result, _)] = await mesh.read(mesh.settings.topics.results, WorkflowResult, 1)
        assert isinstance(result, WorkflowResult) and result.data.workflow_id == good.data.idempotency_key
