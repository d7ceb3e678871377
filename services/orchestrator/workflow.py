"""DSLWorkflow: runs one workflow definition for one trigger on Temporal, then publishes the result.

Workflow code must be deterministic: no I/O here, time from ``workflow.now()``, waits via ``workflow.wait``.
Everything imported is pure (models, templates, the scheduler) and passed through the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from dsl.model import ActionStatement
    from dsl.templates import TemplateContext, TemplateError, render
    from schemas import ActionError, ActionReport, ActionRequest, WorkflowResult
    from schemas.actions import RUN_ACTION
    from services.orchestrator.contracts import PUBLISH_RESULT, RESULT_TOO_LARGE, DSLRun
    from services.orchestrator.result_size import fit_result, result_limit
    from services.orchestrator.results import build_result
    from services.orchestrator.scheduler import ActionTask, DagScheduler

#: Publishing must not be lost: retry until Kafka takes it (a local activity backs off with timers past 1 min).
#: Only a record refused as too large fails for good (the run then publishes a smaller result, see ``run``).
PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30))
PUBLISH_TIMEOUT = timedelta(seconds=30)

#: An action attempt that has not heartbeat for this long is timed out and retried. The executor heartbeats every
#: 2 s while an action runs, so this only fires when the attempt is gone: its executor was killed, or its start or
#: its completion was lost while Temporal was down. Without it such an attempt stays "started" until its
#: start-to-close timeout (300 s by default) and the workflow waits that long. Long enough that a loaded executor's
#: late heartbeat (the SDK sends one per 8 s at most with this timeout) is not mistaken for a dead one.
ACTION_HEARTBEAT_TIMEOUT = timedelta(seconds=10)


def action_retry_policy(action: ActionStatement) -> RetryPolicy:
    """Infrastructure errors (executor lost, timeout, Ray failure) back off and retry; an action that raised
    comes back as a ``failed`` report, not an exception, so it is never retried here."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=action.options.max_attempts,
    )


def _failed(action: ActionStatement, kind: str, message: str, started: datetime, attempts: int) -> ActionReport:
    """A failure decided in the workflow (bad template, retries exhausted), timed like an executor report."""
    finished = workflow.now()
    return ActionReport(
        ref=action.ref,
        action=action.action,
        status="failed",
        error=ActionError(type=kind, message=message),
        attempts=attempts,
        started_at=started,
        finished_at=finished,
        duration_ms=(finished - started).total_seconds() * 1000,
    )


def _refused_as_too_large(error: ActivityError | ApplicationError) -> bool:
    # A failed local activity surfaces as its ApplicationError itself (measured, SDK 1.35); a remote one would be
    # wrapped in ActivityError. Accept both so the check does not depend on how publish_result is scheduled.
    cause = error.cause if isinstance(error, ActivityError) else error
    return isinstance(cause, ApplicationError) and cause.type == RESULT_TOO_LARGE


async def _first_completed(tasks: list[ActionTask]) -> Sequence[ActionTask]:
    done, _ = await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    return done


@workflow.defn(name="DSLWorkflow")
class DSLWorkflow:
    """Schedules the definition's actions on the executor's task queue and publishes a WorkflowResult."""

    @workflow.run
    async def run(self, run: DSLRun) -> WorkflowResult:
        started = workflow.now()
        self._run = run

        scheduler = DagScheduler(run.definition, self._run_action, _first_completed)
        reports = await scheduler.run(run.trigger.data.model_dump(mode="json"))
        info = workflow.info()
        result = build_result(
            run.definition,
            run.trigger,
            reports,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            started_at=started,
            finished_at=workflow.now(),
        )
        # Cut to fit the results topic and Temporal's payload limit (this result is also the return value): a
        # result that cannot be written must not keep the workflow retrying, nor fail its workflow task.
        result = await self._publish(fit_result(result, result_limit(run.max_message_bytes)))
        workflow.logger.info("workflow %s %s", run.definition.name, result.data.status)
        return result

    async def _publish(self, result: WorkflowResult) -> WorkflowResult:
        """Publish ``result`` and return it; if the broker still refuses it as too large (its limit is below
        KAFKA_MAX_MESSAGE_BYTES), publish it once more with every value cut and return that instead."""
        if await self._publish_once(result):
            return result
        smallest = fit_result(result, 0)
        workflow.logger.error("result %s refused as too large; publishing it with every value cut", result.id)
        if not await self._publish_once(smallest):
            workflow.logger.error("result %s refused even with every value cut; only its history has it", result.id)
        return smallest

    async def _publish_once(self, result: WorkflowResult) -> bool:
        """False when the record was refused as too large; every other failure is retried (Kafka outage)."""
        try:
            # A local activity: it runs in this worker without another workflow task round trip.
            await workflow.execute_local_activity(
                PUBLISH_RESULT, result, start_to_close_timeout=PUBLISH_TIMEOUT, retry_policy=PUBLISH_RETRY
            )
        except (ActivityError, ApplicationError) as error:
            if not _refused_as_too_large(error):
                raise
            return False
        return True

    async def _run_action(self, action: ActionStatement, context: TemplateContext) -> ActionReport:
        started = workflow.now()
        try:
            args = render(action.args, context)
        except TemplateError as error:
            return _failed(action, "TemplateError", str(error), started, attempts=0)
        request = ActionRequest(
            workflow_id=workflow.info().workflow_id,
            ref=action.ref,
            action=action.action,
            args=args,
            correlationid=self._run.trigger.correlationid,
        )
        try:
            report: ActionReport = await workflow.execute_activity(
                RUN_ACTION,
                request,
                task_queue=self._run.action_task_queue,
                result_type=ActionReport,
                start_to_close_timeout=timedelta(seconds=action.options.timeout_seconds),
                heartbeat_timeout=ACTION_HEARTBEAT_TIMEOUT,
                retry_policy=action_retry_policy(action),
            )
            return report
        except ActivityError as error:
            cause = error.cause
            kind = cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__
            message = str(cause) if cause is not None else str(error)
            workflow.logger.warning("action %s gave up after retries: %s: %s", action.ref, kind, message)
            return _failed(action, kind, message, started, attempts=action.options.max_attempts)
