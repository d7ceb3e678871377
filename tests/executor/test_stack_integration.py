"""The executor's DSL features through the real stack: Tansu, Temporal dev server, the orchestrator and Ray.

Secrets: a workflow reads a secret; its bytes appear nowhere in the workflow's history or the result event, but
the action did get the value. Large results: stored in the blob store, read through by a later action, and
resolvable by the result's consumer.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from dsl.model import WorkflowDefinition
from schemas import WorkflowResult
from schemas.actions import stored_result
from services.executor.config import ExecutorSettings
from services.executor.worker import build_worker
from services.shared.blobs import LocalDirectoryStore, resolve
from tests.conftest import TemporalServer
from tests.ingest.kafka_io import read
from tests.orchestrator.conftest import Mesh, running_mesh, running_worker
from tests.orchestrator.factories import definition, make_trigger

pytestmark = pytest.mark.integration

SECRET = "tok-9f8e7d6c5b4a-SECRET"

USES_SECRET = definition(
    [
        {
            "ref": "call",
            "action": "core.transform.reshape",
            "args": {
                "value": {
                    "header": "Bearer ${{ SECRETS.demo.TOKEN }}",
                    "digest": "${{ FN.sha256(SECRETS.demo.TOKEN) }}",
                    "alert": "${{ TRIGGER.alert.name }}",
                }
            },
        },
        {"ref": "leak", "action": "tests.raise_quoting", "args": {"value": "${{ SECRETS.demo.TOKEN }}"}},
    ],
    returns="${{ ACTIONS.call.result }}",
    name="uses-secret",
)

LARGE = definition(
    [
        {"ref": "big", "action": "tests.big_result", "args": {"size": 200_000}},
        {
            "ref": "size",
            "action": "core.transform.reshape",
            "depends_on": ["big"],
            "args": {"value": "${{ FN.length(ACTIONS.big.result) }}"},
        },
    ],
    returns="${{ ACTIONS.size.result }}",
    name="large-result",
)


@asynccontextmanager
async def mesh_with_executor(
    kafka_bootstrap: str, temporal: TemporalServer, tmp_path: Path, definitions: Mapping[str, WorkflowDefinition]
) -> AsyncIterator[Mesh]:
    """An orchestrator plus the real executor (session Ray), with a secrets file and a blob directory."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"demo:\n  TOKEN: {SECRET}\n")
    async with running_mesh(
        kafka_bootstrap, temporal.address, with_executor=False, extra_definitions=definitions
    ) as mesh:
        settings = ExecutorSettings(
            temporal=mesh.settings.temporal,
            max_concurrent_actions=4,
            graceful_shutdown_s=0,
            secrets_file=secrets,
            blob={"dir": tmp_path / "blobs"},
        )
        async with running_worker(build_worker(mesh.orchestrator.client, settings)):
            yield mesh


async def result_of(mesh: Mesh, kafka_bootstrap: str) -> tuple[WorkflowResult, bytes]:
    [record] = await read(kafka_bootstrap, mesh.settings.topics.results, 1, timeout=90)
    return WorkflowResult.from_json(record.value), record.value


@pytest.mark.timeout(180)
async def test_a_secret_reaches_the_action_but_not_history_nor_the_results_topic(
    kafka_bootstrap: str, temporal_server: TemporalServer, ray_session: str, tmp_path: Path
) -> None:
    async with mesh_with_executor(kafka_bootstrap, temporal_server, tmp_path, {"uses-secret": USES_SECRET}) as mesh:
        trigger = make_trigger(workflow="uses-secret")
        await mesh.send(trigger)
        event, record = await result_of(mesh, kafka_bootstrap)
        history = await mesh.orchestrator.client.get_workflow_handle(trigger.data.idempotency_key).fetch_history()

    reports = {report.ref: report for report in event.data.actions}
    call, leak = reports["call"], reports["leak"]
    # The action got the real value (its digest is the secret's), and its result shows it masked.
    assert call.result == {
        "header": "Bearer ***",
        "digest": hashlib.sha256(SECRET.encode()).hexdigest(),
        "alert": "ProbeFailure",
    }
    assert leak.error is not None and leak.error.message == "upstream refused token=***!"
    # Nowhere in what left the executor: the whole history as the server serializes it (payload data, JSON, is
    # kept raw inside the protobuf; the positive control shows the search sees the results) and the results record.
    history_bytes = b"".join(event_.SerializeToString() for event_ in history.events)
    assert b"Bearer ***" in history_bytes and b"Bearer ***" in record
    assert SECRET.encode() not in history_bytes
    assert SECRET.encode() not in record
    assert SECRET not in history.to_json()


@pytest.mark.timeout(180)
async def test_a_large_result_is_stored_read_through_and_resolvable(
    kafka_bootstrap: str, temporal_server: TemporalServer, ray_session: str, tmp_path: Path
) -> None:
    async with mesh_with_executor(kafka_bootstrap, temporal_server, tmp_path, {"large-result": LARGE}) as mesh:
        trigger = make_trigger(workflow="large-result")
        await mesh.send(trigger)
        event, record = await result_of(mesh, kafka_bootstrap)
        history = await mesh.orchestrator.client.get_workflow_handle(trigger.data.idempotency_key).fetch_history()

    assert event.data.status == "completed", event.data
    big, size = event.data.actions
    ref = stored_result(big.result)
    assert ref is not None and ref.size == 200_002 and ref.uri.startswith((tmp_path / "blobs").resolve().as_uri())
    assert (size.result, event.data.returns) == (200_000, 200_000)  # the follower read the stored value through
    assert resolve(big.result, LocalDirectoryStore(tmp_path / "blobs")) == "x" * 200_000
    assert len(record) < 20_000 and len(b"".join(event_.SerializeToString() for event_ in history.events)) < 100_000
