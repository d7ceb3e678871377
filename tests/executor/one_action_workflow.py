"""Minimal test workflows that call ``run_actions`` by name with a batch of one step, as the orchestrator's
workflow does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from schemas.actions import RUN_ACTIONS, ActionBatch, ActionReport, ActionStep, BatchReport


class ActionRequest(BaseModel):
    """One action with its args as they are (no templates), for the workflow to send as a batch of one step."""

    workflow_id: str
    ref: str
    action: str
    args: dict[str, Any] = {}
    correlationid: str


def action_queue_for(workflow_queue: str) -> str:
    """The action task queue the workflow on ``workflow_queue`` sends its activity to."""
    return f"{workflow_queue}-actions"


def one_step(request: ActionRequest, timeout_seconds: float) -> ActionBatch:
    """A batch of the one action ``request`` names, its args taken as they are (they hold no templates)."""
    step = ActionStep(ref=request.ref, action=request.action, args=request.args, timeout_seconds=timeout_seconds)
    return ActionBatch(workflow_id=request.workflow_id, correlationid=request.correlationid, trigger={}, steps=[step])


@workflow.defn
class RunOneAction:
    """Runs one action on the executor and returns its report."""

    @workflow.run
    async def run(self, request: ActionRequest) -> ActionReport:
        answer: BatchReport = await workflow.execute_activity(
            RUN_ACTIONS,
            one_step(request, 25),
            result_type=BatchReport,
            task_queue=action_queue_for(workflow.info().task_queue),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        return answer.reports[0]


class TimedAction(BaseModel):
    """An action request with the attempt timeout and retry budget the workflow gives it."""

    request: ActionRequest
    start_to_close_seconds: float
    maximum_attempts: int
    #: As the DSL workflow sets one: an attempt that does not heartbeat this often is timed out (None: no limit).
    heartbeat_timeout_seconds: float | None = None


@workflow.defn
class RunOneActionWithin:
    """Runs one action with the given start-to-close timeout and attempts, as the DSL workflow does."""

    @workflow.run
    async def run(self, timed: TimedAction) -> ActionReport:
        # The step's own limit is the attempt's: the attempt limit (a tenth less) is what stops it.
        answer: BatchReport = await workflow.execute_activity(
            RUN_ACTIONS,
            one_step(timed.request, timed.start_to_close_seconds),
            result_type=BatchReport,
            task_queue=action_queue_for(workflow.info().task_queue),
            start_to_close_timeout=timedelta(seconds=timed.start_to_close_seconds),
            heartbeat_timeout=(
                timedelta(seconds=timed.heartbeat_timeout_seconds) if timed.heartbeat_timeout_seconds else None
            ),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200), maximum_attempts=timed.maximum_attempts
            ),
        )
        return answer.reports[0]


@workflow.defn
class RunBatch:
    """Sends one batch as given (templates, loop variables, retry_until and all) and returns the executor's answer."""

    @workflow.run
    async def run(self, batch: ActionBatch) -> BatchReport:
        answer: BatchReport = await workflow.execute_activity(
            RUN_ACTIONS,
            batch,
            result_type=BatchReport,
            task_queue=action_queue_for(workflow.info().task_queue),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return answer
