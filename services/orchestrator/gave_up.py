"""When Temporal gives up on an executor activity: the retry policy it gave up under, and the failed report that
stands for each action it carried. Workflow code (deterministic, no I/O)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from dsl.model import INFRASTRUCTURE_ATTEMPTS
    from schemas.actions import ActionError, ActionReport
    from services.orchestrator.retry_policy import retry_delay_s


def executor_retry_policy() -> RetryPolicy:
    """Retries of an activity whose executor was lost (heartbeat timeout) or whose attempt ran out of time, with
    the scheduler's backoff: an infrastructure loss, retried whatever the actions' own retry policies say."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=retry_delay_s(1)),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=retry_delay_s(99)),
        maximum_attempts=INFRASTRUCTURE_ATTEMPTS,
    )


def activity_error(error: ActivityError) -> ActionError:
    """The error an activity failed with, as a report carries it (its application type, or the class name)."""
    cause = error.cause
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__
    return ActionError(type=kind, message=str(cause) if cause is not None else str(error))


def failed_report(ref: str, action: str, error: ActionError, attempts: int) -> ActionReport:
    """A failure decided in the workflow (retries exhausted, args that cannot be rendered), timed now."""
    now = workflow.now()
    return ActionReport(
        ref=ref,
        action=action,
        status="failed",
        error=error,
        attempts=attempts,
        started_at=now,
        finished_at=now,
        duration_ms=0.0,
    )
