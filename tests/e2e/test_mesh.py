"""The whole mesh through the real servers: Tansu (Kafka protocol), Temporal dev server, Ray, four services."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from temporalio.client import Client

from alertmesh import kafka_tools, samples
from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from tests.e2e.conftest import Mesh
from tests.e2e.kafka_reading import committed, next_event

pytestmark = pytest.mark.integration

SAMPLE = samples.DEMO_ALERT.read_bytes()


def variant(fingerprint: str, description: str | None = None) -> bytes:
    """The Alertmanager sample as another alert: its own fingerprint, so its own idempotency key."""
    body = json.loads(SAMPLE)
    alert = copy.deepcopy(body["alerts"][0])
    alert["fingerprint"] = fingerprint
    if description is not None:
        alert["annotations"]["description"] = description
    body["alerts"] = [alert]
    return json.dumps(body).encode()


async def offsets(mesh: Mesh, topic: str) -> dict[int, int]:
    return await kafka_tools.end_offsets(mesh.kafka, topic)


async def trigger_and_result(mesh: Mesh, raw: bytes, fingerprint: str) -> tuple[WorkflowTrigger, WorkflowResult]:
    """Publish ``raw`` to the raw topic and wait for its trigger, then for the result that trigger caused."""
    send = kafka_tools.publish(mesh.kafka, mesh.topics.raw, raw)
    return await sent_trigger_and_result(mesh, send, lambda t: t.data.alert.fingerprint == fingerprint)


async def sent_trigger_and_result(
    mesh: Mesh, send: Awaitable[object], is_it: Callable[[WorkflowTrigger], bool]
) -> tuple[WorkflowTrigger, WorkflowResult]:
    """Await ``send``, then the first new trigger ``is_it`` accepts, then the result that trigger caused."""
    triggers_from, results_from = await offsets(mesh, mesh.topics.triggers), await offsets(mesh, mesh.topics.results)
    await send
    trigger = await next_event(mesh.kafka, mesh.topics.triggers, WorkflowTrigger, triggers_from, is_it)
    result = await next_event(
        mesh.kafka, mesh.topics.results, WorkflowResult, results_from,
        lambda r: r.data.workflow_id == trigger.data.idempotency_key, timeout_s=90,
    )  # fmt: skip
    return trigger, result


async def test_demo_alert_becomes_a_completed_result(mesh: Mesh) -> None:
    trigger, result = await trigger_and_result(mesh, SAMPLE, "1a30ba71cca2921f")

    assert trigger.data.workflow == "triage"
    assert result.data.status == "completed", result.data
    assert "https://server.example.org" in json.dumps(result.data.returns)
    # The correlation id is the alert event's id, carried from ingest through the trigger to the result.
    assert trigger.correlationid == trigger.causationid
    assert result.correlationid == trigger.correlationid
    assert result.causationid == trigger.id
    assert [a.status for a in result.data.actions] == ["succeeded"] * len(result.data.actions)


async def test_unparseable_payload_is_dead_lettered_and_the_next_alert_flows(mesh: Mesh) -> None:
    poison = b'{"receiver": "oops", not json at all'
    dlq_from = await offsets(mesh, mesh.topics.dlq)
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, poison, key=b"poison")

    dead = await next_event(mesh.kafka, mesh.topics.dlq, DeadLetter, dlq_from, lambda d: d.data.original == poison)
    assert dead.data.stage == "parse"
    assert dead.data.reason
    assert dead.data.original_topic == mesh.topics.raw

    _, result = await trigger_and_result(mesh, variant("after-poison"), "after-poison")
    assert result.data.status == "completed"


async def test_a_redelivered_trigger_starts_no_second_workflow(mesh: Mesh, temporal_client: Client) -> None:
    trigger, first = await trigger_and_result(mesh, variant("twice"), "twice")
    key = trigger.data.idempotency_key

    # Deliver the very same trigger twice more, after the first run already completed.
    for _ in range(2):
        await kafka_tools.publish(
            mesh.kafka, mesh.topics.triggers, trigger.to_json(), key=key.encode(), headers=trigger.kafka_headers()
        )
    ends = await offsets(mesh, mesh.topics.triggers)
    deadline = time.monotonic() + 60
    while await committed(mesh.kafka, "alertmesh-orchestrator", mesh.topics.triggers) != ends:
        assert time.monotonic() < deadline, "orchestrator did not commit the redelivered triggers"
        await asyncio.sleep(0.2)

    runs = [w async for w in temporal_client.list_workflows(f'WorkflowId="{key}"')]
    assert len(runs) == 1
    assert runs[0].run_id == first.data.run_id


async def test_webhook_alert_flows_to_a_result(mesh: Mesh) -> None:
    triggers_from, results_from = await offsets(mesh, mesh.topics.triggers), await offsets(mesh, mesh.topics.results)
    authorized = {"authorization": f"Bearer {mesh.webhook_key}"}
    async with httpx.AsyncClient(base_url=mesh.webhook_url) as http:
        unauthorized = await http.post(
            "/v1/alerts/prometheus", content=variant("no-key"), headers={"content-type": "application/json"}
        )
        assert unauthorized.status_code == 401, unauthorized.text
        answer = await http.post(
            "/v1/alerts/prometheus",
            content=variant("via-webhook"),
            headers={"content-type": "application/json"} | authorized,
        )
        assert answer.status_code == 202, answer.text
        rejected = await http.post(
            "/v1/alerts/prometheus", content=b"<xml/>", headers={"content-type": "text/xml"} | authorized
        )
        assert rejected.status_code == 400

    trigger = await next_event(
        mesh.kafka, mesh.topics.triggers, WorkflowTrigger, triggers_from,
        lambda t: t.data.alert.fingerprint == "via-webhook",
    )  # fmt: skip
    assert trigger.data.alert.source == "prometheus"
    result = await next_event(
        mesh.kafka, mesh.topics.results, WorkflowResult, results_from,
        lambda r: r.data.workflow_id == trigger.data.idempotency_key, timeout_s=90,
    )  # fmt: skip
    assert result.data.status == "completed"


async def test_a_crashed_service_is_restarted_and_the_mesh_keeps_working(mesh: Mesh) -> None:
    seen = len(mesh.process.lines)
    os.kill(mesh.process.pids()["ingest"], signal.SIGKILL)

    mesh.process.wait_for(r"ingest exited with code -9; restart #\d+ in", timeout=30, after=seen)
    mesh.process.wait_for(r"started ingest \(pid \d+\)", timeout=30, after=seen)
    mesh.process.wait_for(r"ingest is ready again", timeout=60, after=seen)
    _, result = await trigger_and_result(mesh, variant("after-crash"), "after-crash")
    assert result.data.status == "completed"


async def test_a_restarted_embedded_broker_gets_its_topics_back_and_alerts_flow_again(mesh: Mesh) -> None:
    """The embedded broker keeps data in memory only : a restart empties it. The supervisor makes
    the topics anew and the services reconnect; alerts published after that are handled. Runs last: it wipes
    the broker the other tests use."""
    seen = len(mesh.process.lines)
    os.kill(mesh.process.pids()["kafka"], signal.SIGKILL)

    mesh.process.wait_for(r"kafka exited with code -9; restart #\d+ in", timeout=30, after=seen)
    mesh.process.wait_for(r"kafka is ready again", timeout=60, after=seen)
    for topic in mesh.topics.all():
        # Made anew: by the supervisor with 3 partitions, or first by the broker's auto-creation when a
        # reconnecting service asks for it (Tansu's default count). Either way it exists and is usable.
        assert await offsets(mesh, topic), f"{topic} missing after the broker restart"
    _, result = await trigger_and_result(mesh, variant("after-broker-restart"), "after-broker-restart")
    assert result.data.status == "completed"


@pytest.mark.parametrize(
    ("sample", "webhook_source", "alert_format"),
    [
        ("grafana-v1-firing.json", "grafana", "grafana.v1"),  # Grafana's contact point, through the webhook
        ("cloudevents-structured.json", None, "cloudevents"),  # an EDR's CloudEvent, produced straight to Kafka
    ],
)
async def test_a_real_sample_flows_to_a_completed_result(
    mesh: Mesh, sample: str, webhook_source: str | None, alert_format: str
) -> None:
    """Each real sender's payload, the way that sender delivers it, ends as a completed workflow result."""
    body = samples.sample(sample).read_bytes()

    async def send() -> None:
        if webhook_source is None:
            await kafka_tools.publish(mesh.kafka, mesh.topics.raw, body)
            return
        async with httpx.AsyncClient(base_url=mesh.webhook_url) as http:
            answer = await http.post(
                f"/v1/alerts/{webhook_source}",
                content=body,
                headers={"content-type": "application/json", "authorization": f"Bearer {mesh.webhook_key}"},
            )
        assert answer.status_code == 202, answer.text

    trigger, result = await sent_trigger_and_result(mesh, send(), lambda t: t.data.alert.format == alert_format)
    assert result.data.status == "completed", result.data.error
    assert result.data.returns["alert"] == trigger.data.alert.name
