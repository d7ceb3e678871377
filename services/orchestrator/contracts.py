"""What goes into a DSLWorkflow run, and the names the workflow calls its activities by."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from schemas import WorkflowTrigger
from services.orchestrator.dsl.model import WorkflowDefinition

#: The local activity (in the orchestrator worker) that publishes the WorkflowResult event.
PUBLISH_RESULT = "publish_result"
#: CloudEvents ``source`` of every event the orchestrator emits.
EVENT_SOURCE = "alertmesh/orchestrator"


class DSLRun(BaseModel):
    """Input of one DSLWorkflow run.

    The definition is a snapshot taken when the run starts, so the run (and its replay) never depends on the
    YAML files as they are later.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    definition: WorkflowDefinition
    trigger: WorkflowTrigger
    action_task_queue: str
