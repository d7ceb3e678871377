"""Event contracts between alertmesh services, and what the workflow and the executor exchange."""

from schemas.actions import ActionBatch, ActionError, ActionReport, ActionStep, BatchReport
from schemas.alert import Alert, AlertEvent
from schemas.cloudevent import CloudEvent
from schemas.deadletter import DeadLetter, DeadLetterData
from schemas.result import CutValue, Result, WorkflowResult, result_event_id
from schemas.trigger import Trigger, WorkflowTrigger

#: Every published event type, by its versioned CloudEvents type.
EVENTS: dict[str, type[CloudEvent]] = {
    model.TYPE: model for model in (AlertEvent, WorkflowTrigger, WorkflowResult, DeadLetter)
}

__all__ = [
    "EVENTS",
    "ActionBatch",
    "ActionError",
    "ActionReport",
    "ActionStep",
    "Alert",
    "AlertEvent",
    "BatchReport",
    "CloudEvent",
    "CutValue",
    "DeadLetter",
    "DeadLetterData",
    "Result",
    "Trigger",
    "WorkflowResult",
    "WorkflowTrigger",
    "result_event_id",
]
