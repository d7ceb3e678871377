"""``alertmesh.result.v1``: the outcome of one workflow run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from schemas.actions import ActionReport
from schemas.cloudevent import CloudEvent, Model

#: Namespace for deterministic result ids: the same run always yields the same event id.
RESULT_ID_NAMESPACE = uuid.UUID("5b1f3a56-8a39-4f5e-9d0b-3f3c2a7d6e10")

WorkflowStatus = Literal["completed", "failed"]


def result_event_id(workflow_id: str, run_id: str) -> str:
    """Deterministic event id so consumers can drop a redelivered duplicate."""
    return str(uuid.uuid5(RESULT_ID_NAMESPACE, f"{workflow_id}/{run_id}"))


class CutValue(Model):
    """A value left out of the published result because the result would not fit the results topic."""

    path: str = Field(description="JSON Pointer into the result's `data`, e.g. '/actions/0/result' or '/returns'.")
    bytes: int = Field(description="Size of the value's compact JSON encoding (UTF-8) before it was cut.")
    sha256: str = Field(description="Hex sha256 of that JSON encoding, to match it against the original.")


class Result(Model):
    """What one workflow run did: its status, what it returned or why it failed, and a report per action."""

    workflow: str
    workflow_id: str
    run_id: str
    status: WorkflowStatus
    returns: Any = Field(default=None, description="The workflow's `returns` expression, evaluated.")
    error: str | None = Field(default=None, description="Why the workflow failed, when it did.")
    actions: list[ActionReport] = Field(default_factory=list)
    started_at: datetime
    finished_at: datetime
    cut: list[CutValue] = Field(
        default_factory=list,
        description=(
            "What was cut so the result fits the results topic (and Temporal's payload limit), largest first. A cut "
            '`returns` or action `result` became {"$cut": {"bytes": ..., "sha256": ...}}; a cut message keeps '
            "its start and says it was cut; a cut `/actions` list is empty. Empty when nothing was cut."
        ),
    )


class WorkflowResult(CloudEvent):
    """Published to the results topic keyed by the workflow id."""

    TYPE = "alertmesh.result.v1"
    type: Literal["alertmesh.result.v1"] = "alertmesh.result.v1"
    data: Result
