"""core.workflow.execute: child workflows, waited for or detached, for_each batches of them, child failures."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowExecutionStatus

from schemas import WorkflowResult
from tests.conformance.cases import echo, fail, step, workflow
from tests.conformance.harness import Stack, report, statuses

pytestmark = pytest.mark.integration

ENRICH = workflow(
    "enrich",
    [echo("tag", "${{ TRIGGER.inputs.host }} checked")],
    returns={"host": "${{ TRIGGER.inputs.host }}", "verdict": "${{ ACTIONS.tag.result }}"},
    entrypoint={"expects": {"host": {"type": "str"}}},
)
BROKEN = workflow("broken", [fail("boom", "child exploded")])


def child(ref: str, name: str, inputs: dict[str, object], wait: bool = True, **keys: object) -> dict[str, object]:
    return step(ref, "core.workflow.execute", {"workflow": name, "inputs": inputs, "wait": wait}, **keys)


async def test_waited_child_gives_its_returns(stack: Stack) -> None:
    result = await stack.run(
        workflow("parent-wait", [child("enrich", "enrich", {"host": "a.example"})], "${{ ACTIONS.enrich.result }}"),
        workflows=[ENRICH],
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"host": "a.example", "verdict": "a.example checked"}


async def test_child_runs_under_a_workflow_id_derived_from_the_parent(stack: Stack) -> None:
    handle = await stack.start(workflow("parent-id", [child("enrich", "enrich", {"host": "b"})]), workflows=[ENRICH])
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    child_handle = stack.client.get_workflow_handle(f"{handle.id}/enrich", result_type=WorkflowResult)
    child_result = await child_handle.result()
    assert (child_result.data.workflow, child_result.data.status) == ("enrich", "completed")


async def test_detached_child_is_started_and_runs_on_its_own(stack: Stack) -> None:
    slow = workflow("slow-child", [step("nap", "conformance.sleep", {"seconds": 1.0})])
    result = await stack.run(
        workflow("parent-detach", [child("spawn", "slow-child", {}, wait=False)], "${{ ACTIONS.spawn.result }}"),
        workflows=[slow],
    )
    assert result.data.status == "completed", result.data.error
    started = result.data.returns
    assert set(started) >= {"workflow_id", "run_id"}
    child_handle = stack.client.get_workflow_handle(started["workflow_id"], result_type=WorkflowResult)
    # The parent did not wait for it: it may still run; it completes on its own.
    child_result = await asyncio.wait_for(child_handle.result(), timeout=30)
    assert child_result.data.status == "completed"
    assert (await child_handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_a_childs_on_resolved_holds_nothing_back(stack: Stack) -> None:
    # Only the run started for the alert is signalled when it resolves: a child's held action runs as any other.
    held = workflow("held-child", [echo("note", "ran")], "${{ ACTIONS.note.result }}", on_resolved={"run": ["note"]})
    result = await stack.run(
        workflow("parent-held", [child("kid", "held-child", {})], "${{ ACTIONS.kid.result }}"), workflows=[held]
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == "ran"


async def test_for_each_children_return_in_input_order(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "parent-batch",
            [
                child(
                    "each",
                    "enrich",
                    {"host": "${{ var.h }}"},
                    for_each="${{ for var.h in TRIGGER.inputs.hosts }}",
                    max_concurrency=2,
                )
            ],
            "${{ ACTIONS.each.result }}",
        ),
        inputs={"hosts": ["h1", "h2", "h3"]},
        workflows=[ENRICH],
    )
    assert result.data.status == "completed", result.data.error
    assert [r["host"] for r in result.data.returns] == ["h1", "h2", "h3"]


async def test_child_failure_fails_the_parent_action(stack: Stack) -> None:
    result = await stack.run(workflow("parent-broken", [child("run", "broken", {})]), workflows=[BROKEN])
    assert result.data.status == "failed"
    run = report(result, "run")
    assert run.status == "failed" and run.error is not None
    assert result.data.error is not None and "run" in result.data.error


async def test_child_failure_can_be_handled_by_an_error_edge(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "parent-handles",
            [child("run", "broken", {}), echo("fallback", "handled", depends_on=["run.error"])],
            "${{ ACTIONS.fallback.result }}",
        ),
        workflows=[BROKEN],
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"run": "failed", "fallback": "succeeded"}


async def test_child_inputs_are_checked_against_its_expects(stack: Stack) -> None:
    result = await stack.run(
        workflow("parent-bad-input", [child("enrich", "enrich", {"host": 42})]), workflows=[ENRICH]
    )
    assert result.data.status == "failed"
    assert "host" in (report(result, "enrich").error.message if report(result, "enrich").error else "")
