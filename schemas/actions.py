"""What the orchestrator's workflow and the executor's ``run_actions`` activity exchange through Temporal.

The workflow sends a batch: every action that became ready at the same moment, plus the actions that depend only
on those (their *followers*). The executor runs the ready steps at once; a follower runs in the same batch only
when every step it waits for succeeded and is *pure* (no side effects, the same result for the same args), so a
batch run again after a crash repeats nothing a user could observe. A step the executor did not run has no report,
and the workflow dispatches it later, once its inputs are recorded in the workflow's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from schemas.cloudevent import Model

#: Name of the executor's activity, so the workflow can call it without importing executor code.
RUN_ACTIONS = "run_actions"
#: The activity runs started before batched dispatch call, one action each (their histories replay it).
RUN_ACTION = "run_action"

ActionStatus = Literal["succeeded", "failed", "skipped"]


class ActionError(Model):
    type: str = Field(description="Exception class name, e.g. 'HTTPStatusError'.")
    message: str
    retryable: bool = Field(
        False,
        description="The attempt failed for an infrastructure reason (time limit, lost Ray worker), not because "
        "the action raised: the workflow runs the action again while it has attempts left.",
    )


class ActionStep(Model):
    """One action of a batch, its ``args`` still templates: the executor renders them against the batch's
    trigger and results (secrets and results stay out of the workflow's commands until the action runs)."""

    ref: str
    action: str = Field(description="Registry name, e.g. 'core.http_request'.")
    args: dict[str, Any] = Field(default_factory=dict)
    after: list[str] = Field(
        default_factory=list, description="Refs of steps in the same batch whose results this step reads."
    )
    timeout_seconds: float = Field(gt=0, description="Time limit of one attempt of this action.")
    attempt: int = Field(1, ge=1, description="Which attempt of the action this is, counted by the workflow.")


class ActionBatch(Model):
    """Actions to run for one workflow: what their templates may read, and the steps in definition order."""

    workflow_id: str
    correlationid: str
    trigger: dict[str, Any] = Field(description="The trigger's data, read by TRIGGER.* templates.")
    results: dict[str, Any] = Field(
        default_factory=dict, description="Results of finished actions the steps read, by ref."
    )
    steps: list[ActionStep] = Field(min_length=1)


class ActionRequest(Model):
    """One action for ``run_action``, its arguments already resolved from templates (runs started before
    batched dispatch)."""

    workflow_id: str
    ref: str
    action: str = Field(description="Registry name, e.g. 'core.http_request'.")
    args: dict[str, Any] = Field(default_factory=dict)
    correlationid: str


class ActionReport(Model):
    """How one action went; the executor returns it and the result event lists one per action."""

    ref: str
    action: str
    status: ActionStatus
    result: Any = None
    error: ActionError | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None


class BatchReport(Model):
    """The executor's answer: a report for each step it ran, in the batch's order; a step it did not run (a
    follower of a failed or impure step) has none."""

    reports: list[ActionReport] = Field(default_factory=list)
