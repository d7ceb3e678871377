"""``alertmesh rerun`` on the real Temporal dev server and broker: a run failed by a lost executor is re-driven
on purpose under the same workflow id, while a redelivered trigger still starts nothing."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from alertmesh.commands.rerun.reset import RerunRefused, rerun
from dsl.model import INFRASTRUCTURE_ATTEMPTS
from schemas import WorkflowResult
from services.shared.temporal import TemporalSettings
from tests.conftest import REPO, TemporalServer
from tests.orchestrator.conftest import Mesh, running_mesh, running_worker
from tests.orchestrator.factories import make_trigger
from tests.orchestrator.fake_executor import fake_executor_worker, lost_executor_worker

pytestmark = pytest.mark.integration


async def alertmesh(temporal: TemporalServer, *args: str) -> tuple[int, str, str]:
    """Run the ``alertmesh`` command as a user would, configured only through ``TEMPORAL_*``."""
    env = os.environ | {"TEMPORAL_ADDRESS": temporal.address, "TEMPORAL_NAMESPACE": "default"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertmesh.cli", *args, cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def wait_until_started(client: Client, workflow_id: str) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                await client.get_workflow_handle(workflow_id).describe()
                return
            except RPCError:
                await asyncio.sleep(0.05)


async def results(mesh: Mesh, count: int) -> list[WorkflowResult]:
    events = await mesh.read(mesh.settings.topics.results, WorkflowResult, count, timeout=90)
    return [event for event, _ in events if isinstance(event, WorkflowResult)]


async def test_a_run_failed_by_a_lost_executor_reruns_on_purpose_only(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    async with running_mesh(kafka_bootstrap, temporal_server.address, with_executor=False) as mesh:
        client, queue = mesh.orchestrator.client, mesh.settings.temporal.action_task_queue
        trigger = make_trigger(workflow="flaky-infra")
        key = trigger.data.idempotency_key

        async with running_worker(lost_executor_worker(client, queue)):
            await mesh.send(trigger)
            await wait_until_started(client, key)
            with pytest.raises(RerunRefused, match="still running"):
                await rerun(client, key, "too early")
            [failed] = await results(mesh, 1)
        assert failed.data.status == "failed" and failed.data.workflow_id == key
        assert failed.data.error is not None and "timeout" in failed.data.error.lower(), failed.data.error
        # A lost executor is an infrastructure failure: retried INFRASTRUCTURE_ATTEMPTS times whatever the
        # action's max_attempts (2 here) says.
        assert failed.data.actions[0].attempts == INFRASTRUCTURE_ATTEMPTS

        code, out, err = await alertmesh(temporal_server, "rerun", key, "--reason", "executor back after outage")
        assert code == 0, err
        rerun_id = out.split("new run ")[1].split()[0]
        assert f"previous run {failed.data.run_id} completed" in out

        # Repeating the command while the new run is still going (no executor yet) does not reset it again.
        with pytest.raises(RerunRefused, match=f"still running \\(run {rerun_id}\\)"):
            await rerun(client, key, "typed it twice")

        async with running_worker(fake_executor_worker(client, queue)):  # the executor is back
            [_, second] = await results(mesh, 2)
            assert second.data.status == "completed" and second.data.returns == "ProbeFailure"
            assert (second.data.workflow_id, second.data.run_id, second.causationid) == (key, rerun_id, trigger.id)
            assert second.id != failed.id

            # The reason is in the new run's history, where Temporal recorded the reset.
            history = await client.get_workflow_handle(key, run_id=rerun_id).fetch_history()
            reset = [
                e.workflow_task_failed_event_attributes.failure.message
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            assert reset == ["alertmesh rerun: executor back after outage"]

            # Redelivering the original trigger starts nothing: the sentinel's result is the next one out.
            await mesh.send(trigger)
            sentinel = make_trigger(workflow="flaky-infra")
            await mesh.send(sentinel)
            third = (await results(mesh, 3))[2]
            assert third.data.workflow_id == sentinel.data.idempotency_key
        description = await client.get_workflow_handle(key).describe()
        assert (description.run_id, description.status) == (second.data.run_id, WorkflowExecutionStatus.COMPLETED)


async def test_rerun_of_an_unknown_workflow_fails_clearly(temporal_server: TemporalServer) -> None:
    code, out, err = await alertmesh(temporal_server, "rerun", "no-such-workflow-id")
    assert code == 1 and out == ""
    assert "rerun refused: no workflow with id 'no-such-workflow-id' in namespace 'default'" in err


async def test_rerun_with_temporal_unreachable_fails_clearly(temporal_server: TemporalServer) -> None:
    unreachable = TemporalServer(address="127.0.0.1:1", ui_port=0)
    code, _, err = await alertmesh(unreachable, "rerun", "any-id")
    assert code == 1 and "cannot reach Temporal at 127.0.0.1:1" in err


async def test_rerun_leaves_other_workflow_types_alone(temporal_server: TemporalServer) -> None:
    client = await TemporalSettings(address=temporal_server.address).connect()
    other = await client.start_workflow("SomeoneElsesWorkflow", id=f"other-{uuid.uuid4()}", task_queue="nobody")
    try:
        with pytest.raises(RerunRefused, match="is a SomeoneElsesWorkflow workflow, not an alertmesh run"):
            await rerun(client, other.id, "not ours")
    finally:
        await other.terminate("test done")
