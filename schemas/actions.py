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

ActionStatus = Literal["succeeded", "failed", "skipped"]


class ActionError(Model):
    """Why an action failed or was skipped, and whether the infrastructure (not the action) was the cause."""

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
    item: int | None = Field(None, ge=0, description="The for_each item this step runs (its index), if any.")
    loop: dict[str, Any] = Field(
        default_factory=dict, description="The for_each variables of this item, read by var.<name> templates."
    )
    retry_until: str | None = Field(
        None, description="Expression the executor evaluates on the result; falsy fails the attempt (RetryUntil)."
    )


class ActionBatch(Model):
    """Actions to run for one workflow: what their templates may read, and the steps in definition order."""

    workflow_id: str
    correlationid: str
    trigger: dict[str, Any] = Field(description="The trigger's data, read by TRIGGER.* templates.")
    results: dict[str, Any] = Field(
        default_factory=dict, description="Results of finished actions the steps read, by ref."
    )
    errors: dict[str, Any] = Field(
        default_factory=dict,
        description="Errors ({type, message, retryable}) of failed or skipped actions the steps read "
        "(ACTIONS.<ref>.error, e.g. in the target of an error edge), by ref.",
    )
    steps: list[ActionStep] = Field(min_length=1)
    env: dict[str, Any] = Field(
        default_factory=dict, description="ENV.*: workflow_id, run_id, start_time, workflow (the definition's name)."
    )
    vars: dict[str, Any] = Field(default_factory=dict, description="The workspace variables (VARS.*) steps read.")


class ActionReport(Model):
    """How one action went; the executor returns it and the result event lists one per action."""

    ref: str
    action: str
    status: ActionStatus
    item: int | None = Field(None, description="The for_each item this report is of (executor answers only).")
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


#: Key of the one-key object that stands for a result kept outside Temporal's history (see ``StoredResult``).
STORED_KEY = "$stored"


class StoredResult(Model):
    """Where a result too large for history is kept. In history, results and result events it appears as
    ``{"$stored": {"uri": ..., "size": ..., "sha256": ...}}``; the executor reads through it when it renders
    templates, and result consumers resolve it with the blob store."""

    uri: str = Field(description="Where the JSON is: file:///... or s3://bucket/key.")
    size: int = Field(ge=0, description="Bytes of the stored JSON.")
    sha256: str


def stored_result(value: Any) -> StoredResult | None:
    """The StoredResult ``value`` stands for, or None when it is an ordinary value."""
    if isinstance(value, dict) and len(value) == 1 and STORED_KEY in value:
        return StoredResult.model_validate(value[STORED_KEY])
    return None
