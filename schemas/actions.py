"""What the orchestrator's workflow and the executor's ``run_action`` activity exchange through Temporal."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from schemas.cloudevent import Model

#: Name of the executor's activity, so the workflow can call it without importing executor code.
RUN_ACTION = "run_action"

ActionStatus = Literal["succeeded", "failed", "skipped"]


class ActionError(Model):
    type: str = Field(description="Exception class name, e.g. 'HTTPStatusError'.")
    message: str


class ActionRequest(Model):
    """One action to run, its arguments already resolved from templates."""

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
