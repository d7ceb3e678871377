"""Resolved alerts whose key cannot name their firing run reach it anyway, through the real broker and Temporal dev
server: ingest's own parsers and keys make the triggers, the orchestrator indexes each firing run by source and
fingerprint (a search attribute it registers at start) and signals the open run a resolved alert belongs to.

A CloudEvent is keyed by its event id and a field-mapped Datadog monitor (no start time) by its content, so the
resolved notification's key differs from the firing one's in both cases: before the index, both were ignored.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from schemas import WorkflowTrigger
from schemas.alert import Alert
from services.ingest.parsers import SOURCE_HEADER, read_alerts
from services.ingest.parsers.field_maps import FieldMap
from services.ingest.parsers.registry import parsers_for
from services.ingest.pipeline import trigger
from services.orchestrator.open_runs import SERIES, STARTS_AT_MEMO, alert_series
from services.orchestrator.scheduler import ALERT_RESOLVED
from tests.conftest import TemporalServer
from tests.orchestrator.conftest import Mesh, running_mesh
from tests.orchestrator.test_dsl_integration import RESHAPE, results, workflow

pytestmark = pytest.mark.integration

#: ``escalate`` waits two minutes (a durable timer) unless the alert resolves first; ``note`` reads the resolved
#: alert once it does: the run stays open until its alert resolves.
PAIRED = workflow(
    "paired",
    [
        {"ref": "escalate", "action": RESHAPE, "start_delay": 120, "args": {"value": "paged"}},
        {"ref": "note", "action": RESHAPE, "args": {"value": "${{ ENV.resolved.name }} ${{ ENV.resolved.status }}"}},
    ],
    on_resolved={"cancel_pending": True, "run": ["note"]},
    returns={"note": "${{ ACTIONS.note.result }}"},
)

#: A Datadog webhook's custom payload (its documented template variables $ID, $EVENT_TITLE, $ALERT_ID,
#: $ALERT_TRANSITION, $PRIORITY, $LINK) read by a field map that has no start time to read.
DATADOG_MAP = FieldMap.model_validate(
    {
        "title": "$.title",
        "fingerprint": "$.alert_id",
        "status": "$.transition",
        "status_map": {"triggered": "firing", "re-triggered": "firing", "recovered": "resolved"},
        "severity": "$.priority",
        "severity_map": {"p1": "critical", "p2": "high", "p3": "medium"},
        "urls": {"monitor": "$.link"},
    }
)


@pytest.fixture
async def mesh(kafka_bootstrap: str, temporal_server: TemporalServer) -> AsyncIterator[Mesh]:
    async with running_mesh(
        kafka_bootstrap, temporal_server.address, extra_definitions={PAIRED.name: PAIRED}
    ) as running:
        yield running


def read_one(body: dict[str, Any], headers: dict[str, str] | None = None) -> Alert:
    """The one alert ingest reads from ``body`` (CloudEvents structured mode, or the field map's source)."""
    [alert] = read_alerts(orjson.dumps(body), headers or {}, parsers_for({"datadog": DATADOG_MAP}))
    assert isinstance(alert, Alert), alert
    return alert


def triggered(alert: Alert) -> WorkflowTrigger:
    """The trigger ingest publishes for ``alert`` on a route to ``paired``."""
    return trigger(alert, "pairing", PAIRED.name, {}, datetime.now(UTC))


async def wait_running(mesh: Mesh, workflow_id: str, timeout: float = 30) -> None:
    handle = mesh.orchestrator.client.get_workflow_handle(workflow_id)
    async with asyncio.timeout(timeout):
        while True:
            try:
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    return
            except RPCError:  # not started yet
                pass
            await asyncio.sleep(0.1)


async def assert_resolved_by(mesh: Mesh, firing: WorkflowTrigger, resolved: WorkflowTrigger) -> None:
    """The firing run got the resolved alert: its pending escalation skipped, the note written, one result."""
    [event] = (await results(mesh, 1, timeout=60)).values()
    result = event.data
    assert (result.workflow_id, result.status) == (firing.data.idempotency_key, "completed"), result.error
    reports = {a.ref: a for a in result.actions}
    escalate = reports["escalate"]
    assert escalate.status == "skipped" and escalate.error is not None and escalate.error.type == ALERT_RESOLVED
    assert result.returns == {"note": f"{resolved.data.alert.name} resolved"}
    assert mesh.orchestrator.consumer.resolved == {"signalled": 1}
    with pytest.raises(RPCError):  # the resolved alert started nothing of its own
        await mesh.orchestrator.client.get_workflow_handle(resolved.data.idempotency_key).describe()


async def test_a_resolved_cloudevent_reaches_the_firing_run_of_its_subject(mesh: Mesh) -> None:
    subject = f"checkout-{uuid.uuid4().hex[:8]}"
    event = {
        "specversion": "1.0",
        "source": "//monitoring.example.com/probes",
        "type": "com.example.probe.failed",
        "subject": subject,
        "datacontenttype": "application/json",
        "data": {"title": "Checkout probe failing", "severity": "high"},
    }
    fired = read_one({**event, "id": str(uuid.uuid4()), "time": "2024-05-01T10:00:00Z"})
    cleared = read_one(
        {
            **event,
            "id": str(uuid.uuid4()),
            "time": "2024-05-01T10:07:00Z",
            "data": {**event["data"], "status": "resolved"},
        }  # type: ignore[dict-item]
    )
    assert (fired.fingerprint, fired.status, cleared.status) == (cleared.fingerprint, "firing", "resolved")
    firing, resolved = triggered(fired), triggered(cleared)
    assert firing.data.idempotency_key.replace(":firing:", ":resolved:") != resolved.data.idempotency_key

    await mesh.send(firing)
    await wait_running(mesh, firing.data.idempotency_key)
    description = await mesh.orchestrator.client.get_workflow_handle(firing.data.idempotency_key).describe()
    queue = mesh.settings.temporal.workflow_task_queue
    assert description.typed_search_attributes[SERIES] == alert_series(queue, PAIRED.name, fired)
    assert (await description.memo())[STARTS_AT_MEMO] == "2024-05-01T10:00:00+00:00"
    await mesh.send(resolved)
    await assert_resolved_by(mesh, firing, resolved)


async def test_a_field_mapped_datadog_recovery_without_start_time_reaches_its_firing_run(mesh: Mesh) -> None:
    monitor = str(uuid.uuid4().int % 10**8)
    page = {"alert_id": monitor, "priority": "P2", "link": f"https://app.datadoghq.com/monitors/{monitor}"}
    headers = {SOURCE_HEADER: "datadog"}
    fired = read_one(
        {**page, "id": "7070", "title": "[Triggered] CPU high on web-1", "transition": "Triggered"}, headers
    )
    cleared = read_one(
        {**page, "id": "7071", "title": "[Recovered] CPU high on web-1", "transition": "Recovered"}, headers
    )
    assert (fired.starts_at, fired.event_id, fired.fingerprint) == (None, None, cleared.fingerprint)
    firing, resolved = triggered(fired), triggered(cleared)
    assert ":content." in firing.data.idempotency_key

    # Back to back, in one batch: the resolved alert is looked up right after the firing run's start, while
    # visibility may still be indexing it.
    await mesh.send(firing)
    await mesh.send(resolved)
    await assert_resolved_by(mesh, firing, resolved)
