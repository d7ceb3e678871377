"""The full DSL through the real servers: the orchestrator on Temporal and the broker, actions run by the real
executor activity on Ray. Edges, joins, run_if, skips, for_each, timers, retries, the run timeout, inputs,
child workflows and the error handler; ``ALERTMESH_RECORD_HISTORIES=1`` saves their histories for the replay
test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from dsl.model import WorkflowDefinition
from dsl.validate import check_definition
from schemas import WorkflowResult
from services.executor.activity import ActionActivities
from services.executor.ray_runner import RayRunner
from tests.conftest import TemporalServer
from tests.executor.conftest import ray_session  # noqa: F401  (the session's Ray, as a fixture)
from tests.orchestrator.conftest import Mesh, running_mesh, running_worker
from tests.orchestrator.factories import make_trigger

pytestmark = pytest.mark.integration
HISTORIES = Path(__file__).parent / "histories"
RESHAPE = "core.transform.reshape"


def workflow(name: str, actions: list[dict[str, Any]], **rest: Any) -> WorkflowDefinition:
    checked = WorkflowDefinition.model_validate({"name": name, "actions": actions, **rest})
    problems = check_definition(checked)
    assert not problems, problems
    return checked


PLAYBOOK = workflow(
    "dsl-playbook",
    [
        {"ref": "urls", "action": "core.text.extract_urls", "args": {"texts": ["${{ TRIGGER.alert.description }}"]}},
        {"ref": "broken", "action": RESHAPE, "args": {"value": "${{ TRIGGER.alert.nope.deeper }}"}},
        {"ref": "on_broken", "action": RESHAPE, "depends_on": ["broken.error"], "args": {"value": "recovered"}},
        {"ref": "on_urls_error", "action": RESHAPE, "depends_on": ["urls.error"], "args": {"value": 1}},
        {
            "ref": "info_only",
            "action": RESHAPE,
            "depends_on": ["urls"],
            "run_if": "${{ TRIGGER.alert.severity == 'info' }}",
            "args": {"value": 1},
        },
        {"ref": "after_skip", "action": RESHAPE, "depends_on": ["info_only"], "args": {"value": 2}},
        {
            "ref": "either",
            "action": RESHAPE,
            "depends_on": ["info_only", "on_broken"],
            "join_strategy": "any",
            "args": {"value": "${{ ACTIONS.on_broken.result }}"},
        },
        {
            "ref": "per_host",
            "action": RESHAPE,
            "depends_on": ["urls"],
            "for_each": "${{ for var.u in ACTIONS.urls.result + ['https://b.example.org'] }}",
            "max_concurrency": 2,
            "args": {"value": "${{ TRIGGER.alert.name }}"},
        },
        {
            "ref": "later",
            "action": RESHAPE,
            "start_delay": 1,
            "wait_until": "2000-01-01T00:00:00Z",
            "args": {"value": "${{ TRIGGER.inputs.team }}"},
        },
    ],
    entrypoint={"expects": {"team": {"type": "str"}, "limit": {"type": "int", "default": 3}}},
    returns={
        "urls": "${{ ACTIONS.urls.result }}",
        "items": "${{ FN.length(ACTIONS.per_host.result) }}",
        "either": "${{ ACTIONS.either.result }}",
        "skipped": "${{ ACTIONS.after_skip.result }}",
        "limit": "${{ TRIGGER.inputs.limit }}",
        "later": "${{ ACTIONS.later.result }}",
        "run": "${{ ENV.workflow }}:${{ ENV.workflow_id == ENV.workflow_id }}",
        "site": "${{ VARS.site }}",
    },
)

RETRIED = workflow(
    "dsl-retried",
    [
        {
            "ref": "slow",
            "action": "tests.sleep",
            "args": {"seconds": 20},
            "retry_policy": {"timeout": 0.5, "max_attempts": 2, "initial_interval": 1},
        },
        {"ref": "handled", "action": RESHAPE, "depends_on": ["slow.error"], "args": {"value": "handled"}},
    ],
    returns="${{ ACTIONS.handled.result }}",
)

TIMED_OUT = workflow(
    "dsl-timed-out",
    [
        {"ref": "quick", "action": RESHAPE, "args": {"value": 1}},
        # run_if keeps it out of quick's batch, so quick's report is recorded before the timeout.
        {
            "ref": "stuck",
            "action": "tests.sleep",
            "depends_on": ["quick"],
            "run_if": "${{ true }}",
            "args": {"seconds": 60},
            "retry_policy": {"timeout": 120},
        },
        {"ref": "never", "action": RESHAPE, "depends_on": ["stuck"], "args": {"value": 2}},
    ],
    config={"timeout": 10},  # long enough for quick on a loaded machine (a cold Ray worker)
)

STRICT_INPUTS = workflow(
    "dsl-strict-inputs",
    [{"ref": "a", "action": RESHAPE, "args": {"value": 1}}],
    entrypoint={"expects": {"count": {"type": "int"}, "team": {"type": "int"}}},
)

CHILD = workflow(
    "dsl-child",
    [{"ref": "double", "action": RESHAPE, "args": {"value": "${{ TRIGGER.inputs.n }}"}}],
    entrypoint={"expects": {"n": {"type": "int"}}},
    returns={"n": "${{ ACTIONS.double.result }}", "parent_alert": "${{ TRIGGER.alert.name }}"},
)

PARENT = workflow(
    "dsl-parent",
    [
        {
            "ref": "kids",
            "action": "core.workflow.execute",
            "for_each": "${{ for var.n in [1, 2] }}",
            "args": {"workflow": "dsl-child", "inputs": {"n": "${{ var.n }}"}},
        },
        {
            "ref": "detached",
            "action": "core.workflow.execute",
            "args": {"workflow": "dsl-child", "inputs": {"n": 9}, "wait": False},
        },
        {"ref": "bad_kid", "action": "core.workflow.execute", "args": {"workflow": "dsl-child", "inputs": {}}},
        {"ref": "fails", "action": RESHAPE, "args": {"value": "${{ TRIGGER.nope.deeper }}"}},
    ],
    returns="${{ ACTIONS.kids.result }}",
    error_handler="dsl-handler",
)

HANDLER = workflow(
    "dsl-handler",
    [{"ref": "note", "action": RESHAPE, "args": {"value": "${{ TRIGGER.inputs.failed_refs }}"}}],
    entrypoint={"expects": {"error": {"type": "str"}, "failed_refs": {"type": "list"}, "trigger": {"type": "dict"}}},
    returns={"failed": "${{ ACTIONS.note.result }}", "error": "${{ TRIGGER.inputs.error }}"},
)

DEFINITIONS = {d.name: d for d in (PLAYBOOK, RETRIED, TIMED_OUT, STRICT_INPUTS, CHILD, PARENT, HANDLER)}


def ray_executor_worker(client: Client, task_queue: str) -> Worker:
    """The executor's real activities on Ray, as ``services.executor.worker`` builds them."""
    activities = ActionActivities(RayRunner(4))
    return Worker(
        client, task_queue=task_queue, activities=[activities.run_actions],
        max_concurrent_activities=8,
    )  # fmt: skip


@pytest.fixture
async def ray_mesh(kafka_bootstrap: str, temporal_server: TemporalServer, ray_session: str) -> AsyncIterator[Mesh]:  # noqa: F811
    """An orchestrator (with workspace variables) and the real executor on the session's Ray."""
    async with running_mesh(
        kafka_bootstrap, temporal_server.address, with_executor=False, extra_definitions=DEFINITIONS,
        variables={"site": "eu-1"},
    ) as mesh:  # fmt: skip
        worker = ray_executor_worker(mesh.orchestrator.client, mesh.settings.temporal.action_task_queue)
        async with running_worker(worker):
            yield mesh


async def results(mesh: Mesh, count: int, timeout: float = 90) -> dict[str, WorkflowResult]:
    events = await mesh.read(mesh.settings.topics.results, WorkflowResult, count, timeout=timeout)
    found = {}
    for event, _ in events:
        assert isinstance(event, WorkflowResult)
        found[event.data.workflow_id] = event
    return found


async def record(mesh: Mesh, workflow_id: str, name: str) -> None:
    if os.environ.get("ALERTMESH_RECORD_HISTORIES") == "1":
        history = await mesh.orchestrator.client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def test_edges_joins_run_if_skips_loops_timers_env_and_vars(ray_mesh: Mesh) -> None:
    trigger = make_trigger(workflow="dsl-playbook")
    await ray_mesh.send(trigger)
    [event] = (await results(ray_mesh, 1)).values()
    result = event.data
    assert result.status == "completed", result.error
    assert {a.ref: a.status for a in result.actions} == {
        "urls": "succeeded", "broken": "failed", "on_broken": "succeeded", "on_urls_error": "skipped",
        "info_only": "skipped", "after_skip": "skipped", "either": "succeeded", "per_host": "succeeded",
        "later": "succeeded",
    }  # fmt: skip
    assert result.returns == {
        "urls": ["https://server.example.org"],
        "items": 2,
        "either": "recovered",
        "skipped": None,
        "limit": 3,
        "later": "on-call",
        "run": "dsl-playbook:true",
        "site": "eu-1",
    }
    loop = next(a for a in result.actions if a.ref == "per_host")
    assert loop.result == ["ProbeFailure", "ProbeFailure"]
    await record(ray_mesh, result.workflow_id, "dsl-playbook")


async def test_retries_error_edges_run_timeout_and_inputs(ray_mesh: Mesh) -> None:
    retried, timed_out, strict = (
        make_trigger(workflow=w) for w in ("dsl-retried", "dsl-timed-out", "dsl-strict-inputs")
    )
    for trigger in (retried, timed_out, strict):
        await ray_mesh.send(trigger)
    found = await results(ray_mesh, 3)

    first = found[retried.data.idempotency_key].data
    assert (first.status, first.returns) == ("completed", "handled"), first.error
    slow = first.actions[0]
    assert (slow.status, slow.attempts) == ("failed", 2)
    assert slow.error is not None and slow.error.type == "ActionTimeout"

    second = found[timed_out.data.idempotency_key].data
    assert second.status == "failed"
    assert second.error is not None and second.error.startswith(
        "the run did not finish within its config.timeout of 10 s"
    )
    assert [(a.ref, a.status) for a in second.actions] == [
        ("quick", "succeeded"),
        ("stuck", "failed"),
        ("never", "failed"),
    ]
    assert second.actions[1].error is not None and second.actions[1].error.type == "WorkflowTimeout"

    third = found[strict.data.idempotency_key].data
    assert (third.status, third.actions) == ("failed", [])
    assert third.error == (
        "entrypoint.expects: input 'count' is required (int); input 'team' must be int, got str 'on-call'"
    )
    await record(ray_mesh, retried.data.idempotency_key, "dsl-retried")
    await record(ray_mesh, timed_out.data.idempotency_key, "dsl-timed-out")


async def test_child_workflows_wait_detach_loop_and_the_error_handler(ray_mesh: Mesh) -> None:
    # The id is the history file's name: the replay test replays under it, and children's ids derive from it.
    trigger = make_trigger(workflow="dsl-parent", key="dsl-parent")
    await ray_mesh.send(trigger)
    # The parent, its 2 waited children, the detached one, the one with bad inputs, and the error handler.
    found = await results(ray_mesh, 6)
    parent_id = trigger.data.idempotency_key
    parent = found[parent_id].data
    assert parent.status == "failed"
    reports = {a.ref: a for a in parent.actions}
    assert reports["kids"].result == [
        {"n": 1, "parent_alert": "ProbeFailure"},
        {"n": 2, "parent_alert": "ProbeFailure"},
    ]
    assert reports["detached"].result["workflow_id"] == f"{parent_id}/detached"
    assert reports["detached"].result["run_id"] == found[f"{parent_id}/detached"].data.run_id
    assert reports["bad_kid"].error is not None and reports["bad_kid"].error.type == "ChildWorkflowFailed"
    assert "input 'n' is required" in reports["bad_kid"].error.message
    assert (
        parent.error is not None
        and "action 'bad_kid' failed" in parent.error
        and "action 'fails' failed" in parent.error
    )

    assert found[f"{parent_id}/kids/0"].data.returns == {"n": 1, "parent_alert": "ProbeFailure"}
    assert found[f"{parent_id}/kids/0"].correlationid == trigger.correlationid
    handler = found[f"{parent_id}/error-handler"].data
    assert handler.status == "completed", handler.error
    assert handler.returns == {"failed": ["bad_kid", "fails"], "error": parent.error}
    await record(ray_mesh, parent_id, "dsl-parent")
