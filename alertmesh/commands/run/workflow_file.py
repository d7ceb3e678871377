"""``alertmesh run FILE --trigger JSON|@file``: run one workflow definition on the running stack and print its
WorkflowResult event.

The definition is read and validated here and travels in the run's input (``DSLRun.definition``), so the file
need not be in the orchestrator's workflows folder; the orchestrator's worker runs it (on the task queues of the
same ``TEMPORAL_*`` settings) and publishes its result as for any run. Children and the error handler it names
are looked up in ``--workflows`` (default: the file's folder). The run's id is ``run:<name>:<uuid>``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dsl.loader import WorkflowLoadError, load_definition, load_workflows
from dsl.model import CHILD_WORKFLOW_ACTION, WorkflowDefinition
from schemas import Alert, Trigger, WorkflowResult, WorkflowTrigger
from services.executor.catalog import action_catalog
from services.orchestrator.children import reachable
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import DSLRun
from services.orchestrator.variables import VarsFileError, load_vars
from services.orchestrator.workflow import DSLWorkflow

log = logging.getLogger("alertmesh.run")
#: Exit status when nothing was started (bad file, trigger or variables; Temporal unreachable).
NOT_STARTED = 2


class RunRefused(Exception):
    """Nothing was started; the message says why."""


def read_trigger(text: str) -> dict[str, Any]:
    """``--trigger``: a JSON object, or ``@path`` to a file holding one. Keys: ``inputs`` (TRIGGER.inputs),
    ``alert`` (a normalized alert, TRIGGER.alert; a placeholder when absent) and ``route``."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise RunRefused(f"--trigger {text}: cannot read: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunRefused(f"--trigger is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise RunRefused("--trigger must be a JSON object with 'inputs' and optionally 'alert' and 'route'")
    unknown = sorted(set(document) - {"inputs", "alert", "route"})
    if unknown:
        raise RunRefused(f"--trigger has unknown keys {unknown}: it takes 'inputs', 'alert' and 'route'")
    return document


def manual_trigger(definition: WorkflowDefinition, document: dict[str, Any], workflow_id: str) -> WorkflowTrigger:
    """The trigger event of a run started by hand."""
    run_tag = workflow_id.rsplit(":", 1)[-1]
    placeholder = {
        "source": "alertmesh-cli",
        "format": "manual",
        "status": "firing",
        "name": definition.name,
        "fingerprint": run_tag,
    }
    try:
        return WorkflowTrigger(
            id=str(uuid.uuid4()),
            source="alertmesh/cli",
            time=datetime.now(UTC),
            subject=definition.name,
            correlationid=f"run-{run_tag}",
            data=Trigger(
                workflow=definition.name,
                idempotency_key=workflow_id,
                route=document.get("route", "manual"),
                inputs=document.get("inputs") or {},
                alert=Alert.model_validate(document.get("alert", placeholder)),
            ),
        )
    except ValidationError as error:
        raise RunRefused(f"--trigger is not a valid trigger: {error}") from None


def definitions_it_starts(definition: WorkflowDefinition, folder: Path) -> dict[str, WorkflowDefinition]:
    """The definitions the run may start (children, error handler), from ``folder``; none are read if it starts none."""
    starts = definition.error_handler or any(a.action == CHILD_WORKFLOW_ACTION for a in definition.actions)
    if not starts:
        return {}
    known = {**load_workflows(folder, action_catalog), definition.name: definition}
    return reachable(definition, known)


def prepare(
    file: Path, trigger: str, vars_file: Path | None, workflows: Path | None, settings: OrchestratorSettings
) -> DSLRun:
    """Everything checked before anything starts; RunRefused naming the problem."""
    try:
        definition = load_definition(file, action_catalog)
        others = definitions_it_starts(definition, workflows or file.parent)
        variables = load_vars(vars_file or settings.vars_file)
    except (WorkflowLoadError, VarsFileError) as error:
        raise RunRefused(str(error)) from None
    workflow_id = f"run:{definition.name}:{uuid.uuid4()}"
    return DSLRun(
        definition=definition,
        trigger=manual_trigger(definition, read_trigger(trigger), workflow_id),
        action_task_queue=settings.temporal.action_task_queue,
        max_message_bytes=settings.kafka.max_message_bytes,
        max_for_each_items=settings.max_for_each_items,
        vars=variables,
        workflows=others,
    )


async def run_file(
    file: Path, trigger: str, vars_file: Path | None, workflows: Path | None, timeout: float | None = None
) -> int:
    """Start the run, wait for it (at most ``timeout`` seconds), print its WorkflowResult event as JSON (last);
    0 completed, 1 failed (or still running at the timeout), 2 when nothing started."""
    settings = OrchestratorSettings()
    try:
        run = prepare(file, trigger, vars_file, workflows, settings)
    except RunRefused as refused:
        print(f"alertmesh run: {refused}", file=sys.stderr)
        return NOT_STARTED
    temporal = settings.temporal
    try:
        client = await temporal.connect()
    except RuntimeError as error:  # the SDK reports every connection failure as RuntimeError
        print(
            f"alertmesh run: cannot reach Temporal at {temporal.address} ({temporal.namespace}): {error}",
            file=sys.stderr,
        )
        return NOT_STARTED
    workflow_id = run.trigger.data.idempotency_key
    handle = await client.start_workflow(DSLWorkflow.run, run, id=workflow_id, task_queue=temporal.workflow_task_queue)
    # Nothing runs it unless an orchestrator polls this task queue: say where it waits.
    log.info("started %s as %s on task queue %s; waiting for its result", run.definition.name, workflow_id,
             temporal.workflow_task_queue)  # fmt: skip
    try:
        async with asyncio.timeout(timeout):
            result: WorkflowResult = await handle.result()
    except TimeoutError:
        print(f"alertmesh run: {workflow_id} still running after {timeout:g} s; it goes on, and its result will be "
              "published to the results topic", file=sys.stderr)  # fmt: skip
        return 1
    print(result.to_json().decode())
    return 0 if result.data.status == "completed" else 1
