"""Turns a finished run's action reports into the WorkflowResult event (pure, so the workflow can call it).

A run is ``completed`` when it reached the end with no unhandled failure: an action's failure is handled when
some action has an ``<ref>.error`` edge from it; skipped actions never fail a run. Otherwise it is ``failed``, and
its error names the refs that made it fail and their errors (or the run-level problem: inputs, timeout).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dsl.model import WorkflowDefinition
from dsl.templates import TemplateError
from schemas import ActionReport, Result, WorkflowResult, WorkflowTrigger, result_event_id
from services.orchestrator.contracts import EVENT_SOURCE
from services.orchestrator.edges import handled_refs
from services.orchestrator.evaluation import RunContext, render_in_workflow


def unhandled_failures(definition: WorkflowDefinition, reports: list[ActionReport]) -> list[ActionReport]:
    """The failed actions no ``.error`` edge handles, in definition order."""
    handled = handled_refs(definition.actions)
    return [r for r in reports if r.status == "failed" and r.ref not in handled]


def failure_summary(failed: list[ActionReport]) -> str | None:
    """Why the run failed (the failed refs and their errors), or None when nothing did."""
    if not failed:
        return None
    return "; ".join(
        f"action '{r.ref}' failed: {r.error.type}: {r.error.message}" if r.error else f"action '{r.ref}' failed"
        for r in failed
    )


def build_result(
    definition: WorkflowDefinition,
    trigger: WorkflowTrigger,
    reports: list[ActionReport],
    *,
    workflow_id: str,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    run_error: str | None = None,
    context: RunContext | None = None,
) -> WorkflowResult:
    """The result event; ``returns`` is evaluated only when the run completed. ``run_error``: a problem of the
    run itself (inputs that do not match, the timeout), listed before the actions' failures. ``context``: the
    trigger (with its checked inputs), ENV and VARS returns may read (the trigger's data alone when None)."""
    context = context or RunContext(trigger=trigger.data.model_dump(mode="json"))
    failed = unhandled_failures(definition, reports)
    error = "; ".join(part for part in (run_error, failure_summary(failed)) if part) or None
    returns: Any = None
    if error is None:
        by_ref: Mapping[str, ActionReport] = {r.ref: r for r in reports}
        try:
            returns = render_in_workflow(definition.returns, context.with_reports(by_ref))
        except TemplateError as template_error:
            error = f"returns: {template_error}"
    return WorkflowResult(
        id=result_event_id(workflow_id, run_id),
        source=EVENT_SOURCE,
        time=finished_at,
        subject=definition.name,
        correlationid=trigger.correlationid,
        causationid=trigger.id,
        data=Result(
            workflow=definition.name,
            workflow_id=workflow_id,
            run_id=run_id,
            status="completed" if error is None else "failed",
            returns=returns,
            error=error,
            actions=reports,
            started_at=started_at,
            finished_at=finished_at,
        ),
    )
