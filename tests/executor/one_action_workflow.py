"""A minimal test workflow that calls ``run_action`` by name, as the orchestrator's workflow does."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from schemas.actions import RUN_ACTION, ActionReport, ActionRequest


def action_queue_for(workflow_queue: str) -> str:
    """The action task queue the workflow on ``workflow_queue`` sends its activity to."""
    return f"{workflow_queue}-actions"


@workflow.defn
class RunOneAction:
    """Runs one action on the executor and returns its report."""

    @workflow.run
    async def run(self, request: ActionRequest) -> ActionReport:
        report: ActionReport = await workflow.execute_activity(
            RUN_ACTION,
            request,
            result_type=ActionReport,
            task_queue=action_queue_for(workflow.info().task_queue),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        return report


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
        report: ActionReport = await workflow.execute_activity(
            RUN_ACTION,
            timed.request,
            result_type=ActionReport,
            task_queue=action_queue_for(workflow.info().task_queue),
            start_to_close_timeout=timedelta(seconds=timed.start_to_close_seconds),
            heartbeat_timeout=(
                timedelta(seconds=timed.heartbeat_timeout_seconds) if timed.heartbeat_timeout_seconds else None
            ),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200), maximum_attempts=timed.maximum_attempts
            ),
        )
        return report
