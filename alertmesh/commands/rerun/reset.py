"""``alertmesh rerun``: run a finished workflow again, on purpose, under the same workflow id.

A redelivered trigger never starts a second run (the starter rejects a duplicate workflow id). A person who
knows a run failed for reasons outside it (the executor or Ray was down until its retries ran out) re-drives it
here: Temporal resets the run to its first workflow task. That keeps the workflow id and the original input
(the trigger and the definition as it was when the run first started), starts a new run id (so the new
WorkflowResult has a new event id), and records the reason in the history. Every action runs again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

#: The workflow type alertmesh runs; anything else in the namespace is not ours to reset.
WORKFLOW_TYPE = "DSLWorkflow"
#: Namespace for reset request ids (fixed forever): one request id per run being re-driven.
RERUN_REQUEST_NAMESPACE = uuid.UUID("d6a8f1e2-7c3b-4b9a-8e5d-2a1f0c9b7e63")
_TASK_FINISHED = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
)


class RerunRefused(Exception):
    """Nothing was reset; the message says why (unknown id, still running, not an alertmesh workflow, ...)."""


@dataclass(frozen=True)
class Rerun:
    """A reset that took effect: ``run_id`` is the new run of ``workflow_id``."""

    workflow_id: str
    previous_run_id: str
    previous_status: str
    run_id: str


def request_id(workflow_id: str, run_id: str) -> str:
    """The reset's request id, the same for every attempt to re-drive one run.

    Temporal (1.x dev server, measured) does not deduplicate a second reset of the same base run once the first
    reset's run exists; what keeps a repeated command from resetting twice is ``rerun`` refusing while the
    workflow's latest run is still running.
    """
    return str(uuid.uuid5(RERUN_REQUEST_NAMESPACE, f"{workflow_id}/{run_id}"))


async def first_workflow_task_end(events: AsyncIterable[HistoryEvent]) -> int | None:
    """Id of the event that ended the run's first workflow task (the reset point), or None if none ended.

    Temporal resets to "the event after a WorkflowTaskStarted"; the first one is before any action was
    scheduled, so the new run does every action again from the original input.
    """
    started: int | None = None
    async for event in events:
        if started is not None and event.event_id == started + 1:
            return event.event_id if event.event_type in _TASK_FINISHED else None
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started = event.event_id
    return None


async def rerun(client: Client, workflow_id: str, reason: str) -> Rerun:
    """Reset the latest run of ``workflow_id`` to its first workflow task; raises ``RerunRefused``."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise RerunRefused(
                f"no workflow with id {workflow_id!r} in namespace {client.namespace!r} (never started, or past the "
                "namespace's retention period)"
            ) from None
        raise
    if description.workflow_type != WORKFLOW_TYPE:
        raise RerunRefused(f"{workflow_id!r} is a {description.workflow_type} workflow, not an alertmesh run")
    status = description.status
    if status in (None, WorkflowExecutionStatus.RUNNING):
        raise RerunRefused(
            f"workflow {workflow_id!r} is still running (run {description.run_id}); only a finished run can be "
            "rerun: wait for its result (or terminate it) first"
        )
    run = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    point = await first_workflow_task_end(run.fetch_history_events())
    if point is None:
        raise RerunRefused(f"run {description.run_id} of {workflow_id!r} never completed a workflow task to rerun")
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=description.run_id),
            reason=f"alertmesh rerun: {reason}",
            workflow_task_finish_event_id=point,
            request_id=request_id(workflow_id, description.run_id),
            identity=client.identity,
        )
    )
    return Rerun(workflow_id, description.run_id, status.name.lower(), response.run_id)
