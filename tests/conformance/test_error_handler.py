"""error_handler: a workflow started when the run fails, given the error, the failed refs and the trigger."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.service import RPCError

from schemas import WorkflowResult
from tests.conformance.cases import echo, fail, workflow
from tests.conformance.harness import Stack

pytestmark = pytest.mark.integration

HANDLER = workflow(
    "on-failure",
    [echo("seen", "${{ TRIGGER.inputs }}")],
    returns="${{ ACTIONS.seen.result }}",
)


async def test_error_handler_gets_error_failed_refs_and_trigger(stack: Stack) -> None:
    handle = await stack.start(
        workflow("fails-handled", [fail("boom", "kaput"), echo("fine", 1)], error_handler="on-failure"),
        inputs={"team": "blue"},
        workflows=[HANDLER],
    )
    result = await handle.result()
    assert result.data.status == "failed"
    handler = stack.client.get_workflow_handle(f"{handle.id}/error-handler", result_type=WorkflowResult)
    handled = await asyncio.wait_for(handler.result(), timeout=30)
    assert handled.data.status == "completed", handled.data.error
    given = handled.data.returns
    assert given["failed_refs"] == ["boom"]
    assert "kaput" in str(given["error"])
    assert given["trigger"]["inputs"] == {"team": "blue"}
    assert given["trigger"]["alert"]["name"] == "ProbeFailure"


async def test_error_handler_is_not_started_when_the_run_completes(stack: Stack) -> None:
    handle = await stack.start(
        workflow("completes-unhandled", [echo("fine", 1)], error_handler="on-failure"), workflows=[HANDLER]
    )
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    with pytest.raises(RPCError):
        await stack.client.get_workflow_handle(f"{handle.id}/error-handler").describe()


async def test_handled_failures_do_not_start_the_error_handler(stack: Stack) -> None:
    handle = await stack.start(
        workflow(
            "handled-no-handler",
            [fail("boom"), echo("fallback", 1, depends_on=["boom.error"])],
            error_handler="on-failure",
        ),
        workflows=[HANDLER],
    )
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    with pytest.raises(RPCError):
        await stack.client.get_workflow_handle(f"{handle.id}/error-handler").describe()
