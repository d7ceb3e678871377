"""Child workflows (``core.workflow.execute``) and the error handler: their workflow ids, their triggers, and which
definitions a run must carry so it can start them. Pure (the workflow supplies ids and time), so unit-tested.

A child is a DSLWorkflow run like any other (it publishes its own result). Its definition comes from the parent's
input (``DSLRun.workflows``: a snapshot the orchestrator takes when it starts the run), never from files, so the run
and its replays do not depend on the YAML as it is later.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dsl.expressions import template_spans
from dsl.model import CHILD_WORKFLOW_ACTION, WorkflowDefinition
from schemas import Trigger, WorkflowTrigger

#: The suffix of the error handler's workflow id.
ERROR_HANDLER_SUFFIX = "error-handler"


def child_workflow_id(parent_id: str, ref: str, item: int | None) -> str:
    """``<parent id>/<ref>``, plus ``/<item>`` for a for_each item."""
    return f"{parent_id}/{ref}" + (f"/{item}" if item is not None else "")


def child_trigger(
    parent: WorkflowTrigger,
    workflow: str,
    workflow_id: str,
    inputs: Mapping[str, Any],
    event_id: uuid.UUID,
    now: datetime,
) -> WorkflowTrigger:
    """The trigger a child run gets: the parent's alert and correlation, the given inputs, caused by the parent."""
    return WorkflowTrigger(
        id=str(event_id),
        source=parent.source,
        time=now,
        subject=workflow,
        correlationid=parent.correlationid,
        causationid=parent.id,
        data=Trigger(
            workflow=workflow,
            idempotency_key=workflow_id,
            route=parent.data.route,
            inputs=dict(inputs),
            alert=parent.data.alert,
        ),
    )


def reachable(definition: WorkflowDefinition, known: Mapping[str, WorkflowDefinition]) -> dict[str, WorkflowDefinition]:
    """Every definition ``definition`` can start, directly or not (children and error handlers), by name. A child
    whose workflow name is an expression could be any of them, so then all are included."""
    found: dict[str, WorkflowDefinition] = {}
    pending = [definition]
    while pending:
        names = _started_by(pending.pop(), known)
        for name in sorted(names):
            if name in known and name not in found:
                found[name] = known[name]
                pending.append(known[name])
    return found


def _started_by(definition: WorkflowDefinition, known: Mapping[str, WorkflowDefinition]) -> set[str]:
    names = {definition.error_handler} if definition.error_handler else set()
    for action in definition.actions:
        if action.action != CHILD_WORKFLOW_ACTION:
            continue
        name = action.args.get("workflow")
        if isinstance(name, str) and not template_spans(name):
            names.add(name)
        else:
            names.update(known)
    return names
