"""TemporalStarter's retry loop and duplicate handling (the real server is in test_app_integration)."""

from __future__ import annotations

from typing import Any

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from dsl.loader import load_workflows
from services.executor.catalog import action_catalog
from services.orchestrator.contracts import DSLRun
from services.orchestrator.defaults import WORKFLOWS_DIR
from services.orchestrator.starter import TemporalStarter
from tests.orchestrator.factories import make_trigger


class FlakyClient:
    """Answers start_workflow with the given exceptions in turn, then accepts."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)


def a_run() -> DSLRun:
    return DSLRun(
        definition=load_workflows(WORKFLOWS_DIR, action_catalog)["triage"],
        trigger=make_trigger(),
        action_task_queue="q",
    )


async def test_retries_until_temporal_accepts() -> None:
    client = FlakyClient(RPCError("down", RPCStatusCode.UNAVAILABLE, b""), TimeoutError("slow"))
    starter = TemporalStarter(client, "wf-q", initial_backoff=0.01, max_backoff=0.02)  # type: ignore[arg-type]
    run = a_run()
    assert await starter.start(run) == "started"
    assert len(client.calls) == 3
    call = client.calls[-1]
    assert call["id"] == run.trigger.data.idempotency_key
    assert call["task_queue"] == "wf-q"
    assert call["id_reuse_policy"] == WorkflowIDReusePolicy.REJECT_DUPLICATE
    assert call["memo"]["correlationid"] == run.trigger.correlationid
    assert call["request_eager_start"] is True  # this process runs the workflow worker too


async def test_already_started_is_a_duplicate_not_an_error() -> None:
    client = FlakyClient(WorkflowAlreadyStartedError("wf", "DSLWorkflow"))
    starter = TemporalStarter(client, "wf-q")  # type: ignore[arg-type]
    assert await starter.start(a_run()) == "duplicate"


async def test_an_invalid_argument_is_raised_at_once_not_retried() -> None:
    refused = RPCError("WorkflowId exceeds maximum allowed length (1001/1000)", RPCStatusCode.INVALID_ARGUMENT, b"")
    client = FlakyClient(refused)
    starter = TemporalStarter(client, "wf-q", initial_backoff=0.01, max_backoff=0.02)  # type: ignore[arg-type]
    try:
        await starter.start(a_run())
    except RPCError as error:
        assert error is refused
    else:
        raise AssertionError("a refused start must not be reported as started")
    assert len(client.calls) == 1
