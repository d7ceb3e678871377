"""Determinism of DSLWorkflow, on real histories: runs of several shapes on the real Temporal dev server (through the
whole orchestrator, whose worker runs workflows unsandboxed), each history then replayed both without and inside
Temporal's sandbox. The sandboxed replay is the sandbox's check kept in CI, where it costs nothing in production;
with the lint (``test_determinism_lint.py``) it stands in for the sandbox the worker does without."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from schemas import WorkflowResult, WorkflowTrigger
from services.orchestrator.workflow import DSLWorkflow
from tests.conftest import TemporalServer
from tests.orchestrator.conftest import running_mesh
from tests.orchestrator.factories import definition, make_trigger
from tests.orchestrator.test_replay import RUNNERS

pytestmark = pytest.mark.integration

#: Two independent actions started together, then one that joins their results: one batch, as all are pure.
PARALLEL = definition(
    [
        {"ref": "left", "action": "core.transform.reshape", "args": {"value": "${{ TRIGGER.alert.name }}"}},
        {"ref": "right", "action": "core.transform.reshape", "args": {"value": "${{ TRIGGER.inputs.team }}"}},
        {
            "ref": "join",
            "action": "core.transform.reshape",
            "depends_on": ["left", "right"],
            "args": {"value": ["${{ ACTIONS.left.result }}", "${{ ACTIONS.right.result }}"]},
        },
    ],
    returns="${{ ACTIONS.join.result }}",
    name="parallel",
)
#: A failure of the args, not of the action: the template names a missing input.
BAD_TEMPLATE = definition(
    [{"ref": "echo", "action": "core.transform.reshape", "args": {"value": "${{ TRIGGER.inputs.missing }}"}}],
    name="bad-template",
)
#: Results above this are cut (the ``oversized`` run returns 100 000 characters).
LIMIT = 16_384


def trigger_for(workflow: str) -> WorkflowTrigger:
    trigger = make_trigger(workflow=workflow)
    if workflow != "oversized":
        return trigger
    return trigger.model_copy(update={"data": trigger.data.model_copy(update={"inputs": {"size": 100_000}})})


async def histories(kafka_bootstrap: str, temporal_address: str) -> dict[str, tuple[WorkflowResult, WorkflowHistory]]:
    """Run one workflow of each shape to its end; each one's published result and history, by workflow name."""
    extra = {"parallel": PARALLEL, "bad-template": BAD_TEMPLATE}
    shapes = ["triage", "parallel", "failing", "bad-template", "oversized"]
    async with running_mesh(
        kafka_bootstrap, temporal_address, extra_definitions=extra, max_message_bytes=LIMIT
    ) as mesh:
        for workflow in shapes:
            await mesh.send(trigger_for(workflow))
        events = await mesh.read(mesh.settings.topics.results, WorkflowResult, len(shapes), timeout=90)
        client: Client = mesh.orchestrator.client
        found: dict[str, tuple[WorkflowResult, WorkflowHistory]] = {}
        for event, _ in events:
            assert isinstance(event, WorkflowResult)
            history = await client.get_workflow_handle(event.data.workflow_id).fetch_history()
            found[event.data.workflow] = (event, history)
    return found


async def test_every_shape_replays_with_and_without_the_sandbox(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    runs = await histories(kafka_bootstrap, temporal_server.address)

    # The shapes are what they claim to be.
    statuses = {name: [report.status for report in event.data.actions] for name, (event, _) in runs.items()}
    assert statuses == {
        "triage": ["succeeded", "succeeded"],
        "parallel": ["succeeded", "succeeded", "succeeded"],
        "failing": ["failed", "skipped", "succeeded"],
        "bad-template": ["failed"],
        "oversized": ["succeeded"],
    }
    assert runs["bad-template"][0].data.actions[0].error.type == "TemplateError"  # type: ignore[union-attr]
    assert [cut.path for cut in runs["oversized"][0].data.cut] == ["/returns", "/actions/0/result"]
    parallel_events = [event.event_type for event in runs["parallel"][1].events]
    assert parallel_events.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 1  # the three in one batch

    for runner_name, runner in RUNNERS.items():
        replayer = Replayer(workflows=[DSLWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner)
        for name, (_, history) in runs.items():
            replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
            assert replayed.replay_failure is None, f"{name} ({runner_name}): {replayed.replay_failure}"
