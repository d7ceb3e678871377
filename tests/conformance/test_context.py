"""returns, ENV and VARS: what a run gives back, and what its expressions can read about the run and workspace."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conformance.cases import echo, fail, workflow
from tests.conformance.harness import Stack

pytestmark = pytest.mark.integration


async def test_returns_keeps_types_and_interpolates_strings(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "returns-shape",
            [echo("n", 41), echo("names", ["a", "b"])],
            returns={
                "answer": "${{ ACTIONS.n.result + 1 }}",
                "names": "${{ ACTIONS.names.result }}",
                "line": "n=${{ ACTIONS.n.result }} for ${{ TRIGGER.alert.name }}",
                "literal": True,
            },
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"answer": 42, "names": ["a", "b"], "line": "n=41 for ProbeFailure", "literal": True}


async def test_returns_is_empty_when_the_run_failed(stack: Stack) -> None:
    result = await stack.run(workflow("returns-failed", [fail("boom")], returns="never"))
    assert (result.data.status, result.data.returns) == ("failed", None)


async def test_returns_of_a_skipped_action_is_null(stack: Stack) -> None:
    result = await stack.run(
        workflow("returns-skipped", [echo("maybe", 1, run_if="${{ false }}")], returns="${{ ACTIONS.maybe.result }}")
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns is None


async def test_env_describes_the_run_in_the_workflow_and_in_actions(stack: Stack) -> None:
    handle = await stack.start(
        workflow(
            "env-read",
            [echo("in_action", {"id": "${{ ENV.workflow_id }}", "name": "${{ ENV.workflow }}"})],
            returns={
                "action": "${{ ACTIONS.in_action.result }}",
                "workflow_id": "${{ ENV.workflow_id }}",
                "run_id": "${{ ENV.run_id }}",
                "start_time": "${{ ENV.start_time }}",
                "workflow": "${{ ENV.workflow }}",
            },
        )
    )
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    returned = result.data.returns
    assert returned["action"] == {"id": handle.id, "name": "env-read"}
    assert (returned["workflow_id"], returned["run_id"], returned["workflow"]) == (
        handle.id,
        result.data.run_id,
        "env-read",
    )
    assert abs((datetime.fromisoformat(returned["start_time"]) - result.data.started_at).total_seconds()) < 1


async def test_vars_are_read_in_actions_conditions_and_returns(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "vars-read",
            [
                echo("tenant", "${{ VARS.tenant }}"),
                echo("paged", "paged", run_if="${{ VARS.paging.enabled }}"),
                echo("quiet", "quiet", run_if="${{ not VARS.paging.enabled }}"),
            ],
            returns={"tenant": "${{ ACTIONS.tenant.result }}", "threshold": "${{ VARS.paging.threshold }}"},
        ),
        vars={"tenant": "acme", "paging": {"enabled": True, "threshold": 3}},
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"tenant": "acme", "threshold": 3}
    assert {a.ref: a.status for a in result.data.actions}["quiet"] == "skipped"


async def test_functions_run_in_workflow_and_executor_expressions(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "functions",
            [echo("upper", "${{ FN.upper(TRIGGER.alert.name) }}")],
            returns={"upper": "${{ ACTIONS.upper.result }}", "len": "${{ FN.length(TRIGGER.alert.labels) }}"},
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"upper": "PROBEFAILURE", "len": 3}
