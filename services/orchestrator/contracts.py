"""What goes into a DSLWorkflow run, and the names the workflow calls its activities by."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dsl.model import WorkflowDefinition
from schemas import Alert, WorkflowTrigger
from services.orchestrator.loops import DEFAULT_MAX_ITEMS
from services.shared.kafka import KafkaSettings

#: The local activity (in the orchestrator worker) that publishes the WorkflowResult event.
PUBLISH_RESULT = "publish_result"
#: ApplicationError type of a result Kafka refused as too large (permanent: retrying cannot help).
RESULT_TOO_LARGE = "ResultTooLarge"
#: CloudEvents ``source`` of every event the orchestrator emits.
EVENT_SOURCE = "alertmesh/orchestrator"
#: The signal a running DSLWorkflow gets when the alert that started it resolves.
RESOLVED_SIGNAL = "alert_resolved"


class ResolvedSignal(BaseModel):
    """Payload of ``RESOLVED_SIGNAL``: the resolved trigger's id and alert. The workflow reacts to the first one
    only, so a redelivered (or repeated) resolved alert changes nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger_id: str
    alert: Alert


class DSLRun(BaseModel):
    """Input of one DSLWorkflow run.

    The definition is a snapshot taken when the run starts, so the run (and its replay) never depends on the
    YAML files as they are later.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    definition: WorkflowDefinition
    trigger: WorkflowTrigger
    action_task_queue: str
    # In the input, not read from settings by the workflow: the cut must be the same on every replay.
    max_message_bytes: int = Field(
        KafkaSettings.model_fields["max_message_bytes"].default,
        ge=16_384,
        description="The results topic's record limit (KAFKA_MAX_MESSAGE_BYTES) the result is cut to fit.",
    )
    vars: dict[str, Any] = Field(
        default_factory=dict, description="The workspace variables (VARS.*), loaded by the orchestrator at start-up."
    )
    # In the input, like max_message_bytes: the cap must be the same on every replay. The default decodes the
    # inputs of runs started before the field existed.
    max_for_each_items: int = Field(
        DEFAULT_MAX_ITEMS,
        ge=1,
        description="The most items a for_each action may have (ORCHESTRATOR_MAX_FOR_EACH_ITEMS); past it the "
        "action fails at once.",
    )
    workflows: dict[str, WorkflowDefinition] = Field(
        default_factory=dict,
        description="Every definition the run may start (children, error handler), by name, snapshot at start.",
    )
