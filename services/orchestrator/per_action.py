"""How runs started before batched dispatch call the executor: one ``run_action`` activity per action, its args
rendered in the workflow. Workflow code (deterministic, no I/O).

A run that was in flight when alertmesh was upgraded replays its history on the new code; its recorded commands
are these activities, so it must keep scheduling them the same way (``DSLWorkflow`` picks this path when the
run's input predates ``DSLRun.dispatch``). New runs never take it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from dsl.model import INFRASTRUCTURE_ATTEMPTS, ActionStatement
    from dsl.templates import TemplateContext, TemplateError, render
    from schemas.actions import RUN_ACTION, ActionError, ActionReport, ActionRequest, ActionStep
    from services.orchestrator.gave_up import activity_error, executor_retry_policy, failed_report


async def run_one_action(
    action: ActionStatement,
    step: ActionStep,
    context: TemplateContext,
    *,
    correlationid: str,
    task_queue: str,
    heartbeat_timeout: timedelta,
) -> ActionReport:
    """Render ``action``'s args here and run it as one ``run_action`` activity, as runs before batches did."""
    try:
        args = render(action.args, context)
    except TemplateError as bad:
        return failed_report(action.ref, action.action, ActionError(type="TemplateError", message=str(bad)), 0)
    request = ActionRequest(
        workflow_id=workflow.info().workflow_id,
        ref=action.ref,
        action=action.action,
        args=args,
        correlationid=correlationid,
    )
    try:
        report: ActionReport = await workflow.execute_activity(
            RUN_ACTION,
            request,
            task_queue=task_queue,
            result_type=ActionReport,
            start_to_close_timeout=timedelta(seconds=step.timeout_seconds),
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=executor_retry_policy(),
        )
        return report
    except ActivityError as failure:
        error = activity_error(failure)
        workflow.logger.warning("action %s gave up after retries: %s: %s", action.ref, error.type, error.message)
        return failed_report(action.ref, action.action, error, INFRASTRUCTURE_ATTEMPTS)
