"""What goes into a DSLWorkflow run, and the names the workflow calls its activities by."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dsl.model import WorkflowDefinition
from schemas import Alert, WorkflowTrigger
from services.shared.kafka import KafkaSettings

#: The local activity (in the orchestrator worker) that publishes the WorkflowResult event.
PUBLISH_RESULT = "publish_result"
#: ApplicationError type of a result Kafka refused as too large (permanent: retrying cannot help).
RESULT_TOO_LARGE = "ResultTooLarge"
#: CloudEvents ``source`` of every event the orchestrator emits.
EVENT_SOURCE = "alertmesh/orchestrator"
#: The signal a running DSLWorkflow gets when the alert that started it resolves.
RESOLVED_SIGNAL = "alert_resolved"
#: The DSL version the orchestrator starts runs with (see ``DSLRun.dsl_version``).
DSL_VERSION = 3


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
    # In the input, not read from settings by the workflow: the cut must be the same on every replay. Runs started
    # before this field existed replay with the default.
    max_message_bytes: int = Field(
        KafkaSettings.model_fields["max_message_bytes"].default,
        ge=16_384,
        description="The results topic's record limit (KAFKA_MAX_MESSAGE_BYTES) the result is cut to fit.",
    )
    # How the run calls the executor. Runs started before batched dispatch have no such field in their input and
    # replay as "per-action" (one ``run_action`` activity per action, the commands their histories hold); the
    # orchestrator starts every new run "batched". Chosen by the input, not ``workflow.patched``, which would cost
    # every run a marker and a search-attribute update on the server.
    dispatch: Literal["per-action", "batched"] = Field(
        "per-action", description="'batched' for every run the orchestrator starts now."
    )
    # What the run may use of the full DSL. Runs started before it (no such field: 1) replay as they ran: only
    # infrastructure losses are retried, and there is no config.timeout timer nor error handler; runs of 2 do not
    # listen for their alert resolving (on_resolved). The orchestrator starts every new run with DSL_VERSION.
    dsl_version: int = Field(1, ge=1, le=3, description="3 (DSL_VERSION) for every run the orchestrator starts now.")
    vars: dict[str, Any] = Field(
        default_factory=dict, description="The workspace variables (VARS.*), loaded by the orchestrator at start-up."
    )
    workflows: dict[str, WorkflowDefinition] = Field(
        default_factory=dict,
        description="Every definition the run may start (children, error handler), by name, snapshot at start.",
    )
