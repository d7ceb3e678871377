"""DSLWorkflow on the real Temporal dev server and broker: results published, failures, history recording."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TimeoutType
from temporalio.client import WorkflowExecutionStatus

from dsl.loader import load_workflows
from schemas import WorkflowResult, result_event_id
from services.executor.catalog import action_catalog
from services.orchestrator.contracts import DSLRun
from services.orchestrator.workflow import DSLWorkflow
from tests.conftest import REPO
from tests.orchestrator.conftest import Mesh
from tests.orchestrator.factories import make_trigger

pytestmark = pytest.mark.integration
HISTORIES = Path(__file__).parent / "histories"
PROBE_URL = "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1"


async def test_demo_workflow_publishes_its_result(mesh: Mesh) -> None:
    trigger = make_trigger(key=f"demo-{os.getpid()}-{id(mesh)}")
    await mesh.send(trigger)
    [(event, headers)] = await mesh.read(mesh.settings.topics.results, WorkflowResult, 1)
    assert isinstance(event, WorkflowResult)
    result = event.data
    assert result.status == "completed", result.error
    assert result.workflow_id == trigger.data.idempotency_key
    assert event.id == result_event_id(result.workflow_id, result.run_id)
    assert (event.correlationid, event.causationid, event.subject) == (trigger.correlationid, trigger.id, "triage")
    assert headers["ce_id"] == event.id.encode() and headers["correlationid"] == trigger.correlationid.encode()
    assert result.returns == {
        "alert": "ProbeFailure",
        "severity": "critical",
        "status": "firing",
        "headline": "critical: BlackBox Probe Failure",
        "urls": [
            "https://server.example.org",
            PROBE_URL,
        ],
        "team": "on-call",
    }
    assert [(a.ref, a.status, a.attempts) for a in result.actions] == [
        ("extract_urls", "succeeded", 1),
        ("summary", "succeeded", 1),
    ]
    assert all(a.started_at and a.finished_at and a.duration_ms is not None for a in result.actions)

    handle = mesh.orchestrator.client.get_workflow_handle(result.workflow_id, result_type=WorkflowResult)
    assert (await handle.result()) == event
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert (await description.memo())["correlationid"] == trigger.correlationid
    if os.environ.get("ALERTMESH_RECORD_HISTORIES") == "1":
        history = await handle.fetch_history()
        (HISTORIES / "triage.json").write_text(history.to_json())


async def test_failing_action_fails_the_run_and_skips_dependents(mesh: Mesh) -> None:
    trigger = make_trigger(workflow="failing")
    await mesh.send(trigger)
    [(event, _)] = await mesh.read(mesh.settings.topics.results, WorkflowResult, 1)
    assert isinstance(event, WorkflowResult)
    result = event.data
    assert result.status == "failed"
    assert result.returns is None
    assert [(a.ref, a.status) for a in result.actions] == [
        ("boom", "failed"),
        ("after", "skipped"),
        ("other", "succeeded"),
    ]
    boom = result.actions[0]
    assert boom.error is not None and (boom.error.type, boom.error.message) == (
        "RuntimeError",
        "ProbeFailure exploded",
    )
    assert result.actions[2].result == "on-call"
    assert result.error == "action 'boom' failed: RuntimeError: ProbeFailure exploded"
    if os.environ.get("ALERTMESH_RECORD_HISTORIES") == "1":
        history = await mesh.orchestrator.client.get_workflow_handle(result.workflow_id).fetch_history()
        (HISTORIES / "failing.json").write_text(history.to_json())


async def test_an_attempt_whose_executor_went_silent_is_retried_after_the_heartbeat_timeout(mesh: Mesh) -> None:
    # The action's start-to-close timeout is the default 300 s, longer than this test waits for the result: only the
    # heartbeat timeout can end the silent first attempt in time.
    trigger = make_trigger(key=f"silent-{os.getpid()}-{id(mesh)}", workflow="silent-first-attempt")
    await mesh.send(trigger)
    [(event, _)] = await mesh.read(mesh.settings.topics.results, WorkflowResult, 1, timeout=120)
    result = event.data
    assert isinstance(event, WorkflowResult) and result.status == "completed", result.error
    assert [(a.ref, a.status, a.attempts) for a in result.actions] == [("echo", "succeeded", 2)]

    handle = mesh.orchestrator.client.get_workflow_handle(result.workflow_id)
    started = [
        event.activity_task_started_event_attributes
        for event in (await handle.fetch_history()).events
        if event.HasField("activity_task_started_event_attributes")
    ]
    [second] = started  # retries of a timed-out attempt record only the attempt that finished
    assert second.attempt == 2
    assert second.last_failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT


async def test_a_run_started_before_batched_dispatch_still_runs_one_activity_per_action(mesh: Mesh) -> None:
    # Such a run's input has no ``dispatch`` field: an upgrade must let it finish the way its history began.
    trigger = make_trigger(key=f"per-action-{os.getpid()}-{id(mesh)}")
    definition = load_workflows(REPO / "workflows", action_catalog)["triage"]
    temporal = mesh.settings.temporal
    legacy = {"definition": definition, "trigger": trigger, "action_task_queue": temporal.action_task_queue}
    run = DSLRun.model_validate(legacy)
    assert run.dispatch == "per-action"
    client = mesh.orchestrator.client
    workflow_id = f"per-action-{uuid.uuid4()}"
    result = await client.execute_workflow(
        DSLWorkflow.run, run, id=workflow_id, task_queue=temporal.workflow_task_queue, result_type=WorkflowResult
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns["urls"] == ["https://server.example.org", PROBE_URL]
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == ["run_action", "run_action"]
