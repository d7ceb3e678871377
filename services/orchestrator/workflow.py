"""DSLWorkflow: runs one workflow definition for one trigger on Temporal, then publishes the result.

Workflow code must be deterministic: no I/O here, time from ``workflow.now()``, waits via ``workflow.wait``.
Everything imported is pure (models, templates, the scheduler) and passed through the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from dsl.templates import TemplateContext
    from schemas import ActionBatch, ActionReport, ActionStep, BatchReport, WorkflowResult
    from schemas.actions import RUN_ACTIONS
    from services.orchestrator.contracts import PUBLISH_RESULT, RESULT_TOO_LARGE, DSLRun
    from services.orchestrator.gave_up import activity_error, executor_retry_policy, failed_report
    from services.orchestrator.per_action import run_one_action
    from services.orchestrator.result_size import fit_result, result_limit
    from services.orchestrator.results import build_result
    from services.orchestrator.scheduler import DagScheduler, DispatchTask

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


def batch_timeout(steps: list[ActionStep]) -> timedelta:
    """Start-to-close timeout of a batch: its ready steps' longest limit plus its followers' longest, and a
    margin, so each step's own limit (enforced by the executor) always fires first."""
    ready = max(step.timeout_seconds for step in steps if not step.after)
    followers = max((step.timeout_seconds for step in steps if step.after), default=0.0)
    return timedelta(seconds=ready + followers + 10)


def _refused_as_too_large(error: ActivityError | ApplicationError) -> bool:
    # A failed local activity surfaces as its ApplicationError itself (measured, SDK 1.35); a remote one would be
    # wrapped in ActivityError. Accept both so the check does not depend on how publish_result is scheduled.
    cause = error.cause if isinstance(error, ActivityError) else error
    return isinstance(cause, ApplicationError) and cause.type == RESULT_TOO_LARGE


@workflow.defn(name="DSLWorkflow")
class DSLWorkflow:
    """Schedules the definition's actions on the executor's task queue, in batches, and publishes a
    WorkflowResult. It is the scheduler's ``Dispatcher``."""

    @workflow.run
    async def run(self, run: DSLRun) -> WorkflowResult:
        started = workflow.now()
        self._run = run
        self._actions = {action.ref: action for action in run.definition.actions}
        self._trigger = run.trigger.data.model_dump(mode="json")
        # A run started before batched dispatch keeps calling one activity per action (see DSLRun.dispatch).
        self._batched = run.dispatch == "batched"
        reports = await DagScheduler(run.definition, self, batches=self._batched).run()
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

    # The scheduler's Dispatcher: a batch is one activity on the executor's queue; waits and timers are
    # Temporal's, so they are replayed deterministically and survive a worker restart.
    async def dispatch(self, steps: list[ActionStep], results: dict[str, Any]) -> list[ActionReport]:
        if not self._batched:
            [step] = steps
            report = await run_one_action(
                self._actions[step.ref],
                step,
                TemplateContext(trigger=self._trigger, results=results),
                correlationid=self._run.trigger.correlationid,
                task_queue=self._run.action_task_queue,
                heartbeat_timeout=ACTION_HEARTBEAT_TIMEOUT,
            )
            return [report]
        batch = ActionBatch(
            workflow_id=workflow.info().workflow_id,
            correlationid=self._run.trigger.correlationid,
            trigger=self._trigger,
            results=results,
            steps=steps,
        )
        policy = executor_retry_policy()
        try:
            answer: BatchReport = await workflow.execute_activity(
                RUN_ACTIONS,
                batch,
                task_queue=self._run.action_task_queue,
                result_type=BatchReport,
                start_to_close_timeout=batch_timeout(steps),
                heartbeat_timeout=ACTION_HEARTBEAT_TIMEOUT,
                retry_policy=policy,
            )
        except ActivityError as failure:
            error = activity_error(failure)
            refs = ", ".join(step.ref for step in steps)
            workflow.logger.warning("actions %s gave up after retries: %s: %s", refs, error.type, error.message)
            attempts = policy.maximum_attempts
            # Followers may not have run; the scheduler skips them, as their inputs failed.
            return [
                failed_report(step.ref, step.action, error, step.attempt + attempts - 1)
                for step in steps
                if not step.after
            ]
        return answer.reports

    async def wait_first(self, tasks: list[DispatchTask]) -> Sequence[DispatchTask]:
        done, _ = await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return list(done)

    async def sleep(self, seconds: float) -> None:
        await workflow.sleep(seconds)
