"""DSLWorkflow: runs one workflow definition for one trigger on Temporal, then publishes the result.

Workflow code must be deterministic: no I/O here, time from ``workflow.now()``, waits via ``workflow.wait``.
Everything imported is pure (models, templates, the scheduler) and passed through the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from dsl.expressions import expressions_in
    from dsl.model import ActionStatement, ChildWorkflowArgs
    from schemas import ActionBatch, ActionReport, ActionStep, BatchReport, WorkflowResult
    from schemas.actions import RUN_ACTIONS, ActionError
    from services.orchestrator.children import ERROR_HANDLER_SUFFIX, child_trigger, child_workflow_id
    from services.orchestrator.contracts import (
        PUBLISH_RESULT,
        RESOLVED_SIGNAL,
        RESULT_TOO_LARGE,
        DSLRun,
        ResolvedSignal,
    )
    from services.orchestrator.evaluation import RunContext
    from services.orchestrator.gave_up import activity_error, executor_retry_policy, failed_report
    from services.orchestrator.inputs import InputsError, check_inputs
    from services.orchestrator.result_size import fit_result, result_limit
    from services.orchestrator.results import build_result, unhandled_failures
    from services.orchestrator.scheduler import BOUNDS_PATCH, DagScheduler, DispatchTask, Resolution

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

    def __init__(self) -> None:
        #: The first ``RESOLVED_SIGNAL`` received (a signal may arrive before ``run`` starts).
        self._resolved: ResolvedSignal | None = None

    @workflow.signal(name=RESOLVED_SIGNAL)
    def alert_resolved(self, signal: ResolvedSignal) -> None:
        """The alert resolved: only the first signal counts, so a redelivered resolved trigger changes nothing."""
        if self._resolved is None:
            self._resolved = signal
            workflow.logger.info("alert resolved (trigger %s)", signal.trigger_id)

    async def _until_resolved(self) -> list[ActionReport]:
        await workflow.wait_condition(lambda: self._resolved is not None)
        assert self._resolved is not None
        # The scheduler's expressions and every batch from now on read the same dict: ENV.resolved is the alert.
        self._env["resolved"] = self._resolved.alert.model_dump(mode="json")
        return []

    @workflow.run
    async def run(self, run: DSLRun) -> WorkflowResult:
        """Check the trigger's inputs against ``entrypoint.expects``, run the actions (within ``config.timeout``),
        start the error_handler if the run failed, then publish the WorkflowResult, cut to fit the results topic,
        and return it as published. A failed run still completes the workflow: its result says it failed."""
        started = workflow.now()
        info = workflow.info()
        self._run = run
        trigger = run.trigger.data.model_dump(mode="json")
        self._env: dict[str, Any] = {
            "workflow_id": info.workflow_id,
            "run_id": info.run_id,
            "start_time": info.start_time.isoformat(),
            "workflow": run.definition.name,
        }
        run_error: str | None = None
        reports: list[ActionReport] = []
        try:
            trigger = {**trigger, "inputs": check_inputs(run.definition.entrypoint.expects, trigger["inputs"])}
        except InputsError as mismatch:
            run_error = str(mismatch)
        self._trigger = trigger
        context = RunContext(trigger=trigger, env=self._env, vars=run.vars)
        if run_error is None:
            timeout = run.definition.config.timeout
            # Only the run started for the alert is signalled when it resolves (its workflow id is the trigger's
            # idempotency key); a child or an error handler never is, so it must not hold actions back for it.
            on_resolved = run.definition.on_resolved if info.parent is None else None
            resolution = None
            if on_resolved is not None:
                self._env["resolved"] = None  # the resolved alert, once it is (ENV.resolved)
                resolution = Resolution(on_resolved, self._until_resolved)
            scheduler = DagScheduler(
                run.definition,
                self,
                context=context,
                timeout=timeout,
                resolution=resolution,
                max_items=run.max_for_each_items,
                # Asked only when a loop is over the cap or a timer over a year: a run recorded before the bounds
                # replays as it ran (it scheduled the items, started the timer); a new one records the marker
                # once and fails the action.
                bounds_apply=lambda: workflow.patched(BOUNDS_PATCH),
            )
            reports = await scheduler.run()
            if scheduler.timed_out:
                run_error = f"the run did not finish within its config.timeout of {timeout:g} s"
        result = build_result(
            run.definition,
            run.trigger,
            reports,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            started_at=started,
            finished_at=workflow.now(),
            run_error=run_error,
            context=context,
        )
        if result.data.status == "failed" and run.definition.error_handler:
            await self._start_error_handler(run.definition.error_handler, result, reports)
        # Cut to fit the results topic and Temporal's payload limit (this result is also the return value): a
        # result that cannot be written must not keep the workflow retrying, nor fail its workflow task.
        result = await self._publish(fit_result(result, result_limit(run.max_message_bytes)))
        workflow.logger.info("workflow %s %s", run.definition.name, result.data.status)
        return result

    def _child_run(self, name: str, workflow_id: str, inputs: dict[str, Any]) -> DSLRun | None:
        """The input of a child run of workflow ``name`` (None when the run carries no such definition)."""
        definition = self._run.workflows.get(name)
        if definition is None:
            return None
        trigger = child_trigger(self._run.trigger, name, workflow_id, inputs, workflow.uuid4(), workflow.now())
        return DSLRun(
            definition=definition,
            trigger=trigger,
            action_task_queue=self._run.action_task_queue,
            max_message_bytes=self._run.max_message_bytes,
            vars=self._run.vars,
            workflows=self._run.workflows,
            max_for_each_items=self._run.max_for_each_items,
        )

    async def _start_error_handler(self, name: str, result: WorkflowResult, reports: list[ActionReport]) -> None:
        """Start the definition's error_handler, detached: it outlives this run and publishes its own result."""
        failed = [r.ref for r in unhandled_failures(self._run.definition, reports)]
        inputs = {
            "error": result.data.error,
            "failed_refs": failed,
            "trigger": self._run.trigger.data.model_dump(mode="json"),
        }
        workflow_id = f"{workflow.info().workflow_id}/{ERROR_HANDLER_SUFFIX}"
        child = self._child_run(name, workflow_id, inputs)
        if child is None:
            workflow.logger.error("error_handler %s: no such workflow in this run's definitions", name)
            return
        try:
            await workflow.start_child_workflow(
                DSLWorkflow.run,
                child,
                id=workflow_id,
                task_queue=workflow.info().task_queue,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("error handler %s already started", workflow_id)

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
    async def dispatch(
        self, steps: list[ActionStep], results: dict[str, Any], errors: dict[str, Any]
    ) -> list[ActionReport]:
        """``Dispatcher.dispatch``: one ``run_actions`` activity on the executor's task queue, carrying ENV and VARS
        only when a step reads them. A batch the executor's retries gave up on becomes a failed report for each
        ready step; cancelled before it answered, it raises asyncio.CancelledError."""
        roots = {root for e in expressions_in([[s.args, s.retry_until] for s in steps]) for root in e.roots}
        batch = ActionBatch(
            workflow_id=workflow.info().workflow_id,
            correlationid=self._run.trigger.correlationid,
            trigger=self._trigger,
            results=results,
            errors=errors,
            steps=steps,
            # Only what the steps read: it all goes into history.
            env=self._env if "ENV" in roots else {},
            vars=self._run.vars if "VARS" in roots else {},
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
                # Cancelled (the run's config.timeout passed), the batch answers with the steps that finished.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ActivityError as failure:
            if isinstance(failure.cause, CancelledError):  # the scheduler cancelled it (config.timeout)
                raise asyncio.CancelledError from failure
            error = activity_error(failure)
            refs = ", ".join(step.ref for step in steps)
            workflow.logger.warning("actions %s gave up after retries: %s: %s", refs, error.type, error.message)
            attempts = policy.maximum_attempts
            # Followers may not have run; the scheduler skips them, as their inputs failed.
            return [
                failed_report(step.ref, step.action, error, step.attempt + attempts - 1).model_copy(
                    update={"item": step.item}
                )
                for step in steps
                if not step.after
            ]
        return answer.reports

    async def wait_first(self, tasks: list[DispatchTask]) -> Sequence[DispatchTask]:
        """``Dispatcher.wait_first`` with ``workflow.wait``, which replays deterministically."""
        done, _ = await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return list(done)

    async def sleep(self, seconds: float) -> list[ActionReport]:
        """``Dispatcher.sleep``: a durable Temporal timer (it survives a worker restart); no reports."""
        await workflow.sleep(seconds)
        return []

    def now(self) -> datetime:
        """``Dispatcher.now``: ``workflow.now()``, the same on every replay."""
        return workflow.now()

    async def child(
        self, action: ActionStatement, args: ChildWorkflowArgs, item: int | None, attempt: int
    ) -> ActionReport:
        """Run ``args.workflow`` as a child DSLWorkflow: wait for its result, or start it detached."""
        started = workflow.now()
        workflow_id = child_workflow_id(workflow.info().workflow_id, action.ref, item)
        child = self._child_run(args.workflow, workflow_id, args.inputs)
        if child is None:
            known = ", ".join(sorted(self._run.workflows)) or "none"
            message = f"no workflow {args.workflow!r} in this run's definitions (known: {known})"
            return failed_report(
                action.ref, action.action, ActionError(type="UnknownWorkflow", message=message), attempt
            )
        queue = workflow.info().task_queue
        try:
            if not args.wait:
                handle = await workflow.start_child_workflow(
                    DSLWorkflow.run, child, id=workflow_id, task_queue=queue,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )  # fmt: skip
                return _child_report(
                    action, attempt, started, {"workflow_id": workflow_id, "run_id": handle.first_execution_run_id}
                )
            result = await workflow.execute_child_workflow(DSLWorkflow.run, child, id=workflow_id, task_queue=queue)
        except (ChildWorkflowError, WorkflowAlreadyStartedError) as failure:
            error = ActionError(type=type(failure).__name__, message=f"child workflow {workflow_id}: {failure}")
            return failed_report(action.ref, action.action, error, attempt)
        if result.data.status != "completed":
            error = ActionError(
                type="ChildWorkflowFailed", message=f"child workflow {workflow_id} failed: {result.data.error}"
            )
            return failed_report(action.ref, action.action, error, attempt)
        return _child_report(action, attempt, started, result.data.returns)


def _child_report(action: ActionStatement, attempt: int, started: datetime, result: Any) -> ActionReport:
    finished = workflow.now()
    return ActionReport(
        ref=action.ref,
        action=action.action,
        status="succeeded",
        result=result,
        attempts=attempt,
        started_at=started,
        finished_at=finished,
        duration_ms=(finished - started).total_seconds() * 1000,
    )
