"""Turns a finished run's action reports into the WorkflowResult event (pure, so the workflow can call it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dsl.model import WorkflowDefinition
from dsl.templates import TemplateContext, TemplateError, render
from schemas import ActionReport, Result, WorkflowResult, WorkflowTrigger, result_event_id
from services.orchestrator.contracts import EVENT_SOURCE


def failure_summary(reports: list[ActionReport]) -> str | None:
    """Why the run failed, or None when every action succeeded."""
    failed = [r for r in reports if r.status == "failed"]
    skipped = [r.ref for r in reports if r.status == "skipped"]
    if not failed and not skipped:
        return None
    parts = [
        f"action '{r.ref}' failed: {r.error.type}: {r.error.message}" if r.error else f"action '{r.ref}' failed"
        for r in failed
    ]
    if skipped:
        parts.append(f"skipped: {', '.join(skipped)}")
    return "; ".join(parts)


def build_result(
    definition: WorkflowDefinition,
    trigger: WorkflowTrigger,
    reports: list[ActionReport],
    *,
    workflow_id: str,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
) -> WorkflowResult:
    """The result event; ``returns`` is evaluated only when every action succeeded."""
    error = failure_summary(reports)
    returns: Any = None
    if error is None:
        results = {r.ref: r.result for r in reports}
        context = TemplateContext(trigger=trigger.data.model_dump(mode="json"), results=results)
        try:
            returns = render(definition.returns, context)
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
