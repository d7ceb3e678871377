"""``alertmesh.trigger.v1``: ingest asks the orchestrator to run one workflow for one alert."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.alert import Alert
from schemas.cloudevent import CloudEvent, Model


class Trigger(Model):
    """One workflow to run for one alert (or one group of alerts), as a route chose it."""

    workflow: str = Field(description="Name of the workflow definition to run.")
    idempotency_key: str = Field(
        description="Derived from source, fingerprint, status and start time; used as the Temporal workflow id."
    )
    route: str = Field(description="Name of the routing rule that matched.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Inputs the route passes to the workflow.")
    alert: Alert = Field(description="The alert; for a grouped trigger, the first alert of the group.")
    alerts: list[Alert] = Field(
        default_factory=list,
        description=(
            "Every alert of the group when the route groups alerts (group_by); empty for a single-alert trigger."
        ),
    )
    on_resolved_finished: Literal["start", "ignore"] = Field(
        "ignore",
        description="For a resolved alert whose firing run is not running (finished, or never started): 'start' "
        "runs the workflow for it, 'ignore' (the default) starts nothing (counted and logged). A resolved alert "
        "whose firing run is still running is signalled to that run instead.",
    )


class WorkflowTrigger(CloudEvent):
    """Published to the triggers topic keyed by ``data.idempotency_key``."""

    TYPE = "alertmesh.trigger.v1"
    type: Literal["alertmesh.trigger.v1"] = "alertmesh.trigger.v1"
    data: Trigger
