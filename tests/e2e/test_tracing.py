"""Traces through the whole mesh (``alertmesh up``, which keeps spans in ``<state-dir>/traces``): one alert is one
trace with spans from the webhook, ingest, the orchestrator, the executor and its Ray worker; ``alertmesh trace``
finds it by each kind of id; the dead-letter path is traced too."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry import baggage

from alertmesh import kafka_tools
from alertmesh.trace import Trace, wait_for_traces
from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from services.shared import tracing
from tests.e2e.conftest import Mesh
from tests.e2e.mesh_process import REPO
from tests.e2e.test_mesh import variant

pytestmark = pytest.mark.integration

#: Processes write their spans out about once a second; a trace is complete well within this.
TRACE_TIMEOUT_S = 30


def state_dir(mesh: Mesh) -> Path:
    args = mesh.process.args
    return Path(args[args.index("--state-dir") + 1])


async def next_record(
    mesh: Mesh,
    topic: str,
    start: dict[int, int],
    match: Callable[[bytes, dict[str, str]], bool],
    timeout_s: float = 90,
) -> tuple[bytes, dict[str, str]]:
    """The first record on ``topic`` past ``start`` whose value and headers ``match`` accepts."""
    consumer = AIOKafkaConsumer(**mesh.kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in start]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        async with asyncio.timeout(timeout_s):
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        headers = {name: (value or b"").decode() for name, value in record.headers}
                        if record.value is not None and match(record.value, headers):
                            return record.value, headers
    finally:
        await consumer.stop()


def trace_id_of(headers: dict[str, str]) -> str:
    version, trace_id, _span_id, _flags = headers[tracing.TRACEPARENT].split("-")
    assert version == "00"
    return trace_id


def correlation_of(headers: dict[str, str]) -> str | None:
    """The correlation id a record's ``baggage`` header carries, read as every service reads it."""
    value = baggage.get_baggage(tracing.CORRELATION_BAGGAGE, tracing.extract(headers))
    return None if value is None else str(value)


def alertmesh_trace(mesh: Mesh, identifier: str) -> str:
    """``alertmesh trace ID`` as a user runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "alertmesh.cli", "trace", identifier, "--state-dir", str(state_dir(mesh))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TEMPORAL_UI_URL": "http://ui.example:8233"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def finished_trace(mesh: Mesh, identifier: str) -> Trace:
    traces = await wait_for_traces(state_dir(mesh) / "traces", identifier, TRACE_TIMEOUT_S)
    assert traces, f"no trace for {identifier} in {state_dir(mesh) / 'traces'}"
    assert traces[-1].finished, [span.name for span in traces[-1].spans]
    return traces[-1]


async def test_one_alert_is_one_trace_from_webhook_to_result_and_alertmesh_trace_finds_it(mesh: Mesh) -> None:
    fingerprint = f"traced-{uuid.uuid4().hex[:12]}"
    triggers_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.triggers)
    results_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.results)
    async with httpx.AsyncClient(base_url=mesh.webhook_url) as http:
        answer = await http.post(
            "/v1/alerts/prometheus",
            content=variant(fingerprint),
            headers={"content-type": "application/json", "authorization": f"Bearer {mesh.webhook_key}"},
        )
    assert answer.status_code == 202, answer.text

    raw_trigger, trigger_headers = await next_record(
        mesh, mesh.topics.triggers, triggers_from, lambda value, _: fingerprint.encode() in value
    )
    trigger = WorkflowTrigger.from_json(raw_trigger)
    key = trigger.data.idempotency_key
    raw_result, result_headers = await next_record(
        mesh, mesh.topics.results, results_from, lambda value, _: key.encode() in value
    )
    result = WorkflowResult.from_json(raw_result)
    assert result.data.status == "completed", result.data

    trace = await finished_trace(mesh, trigger.correlationid)
    # One trace id from the webhook request to the result record, through the trigger record's headers.
    assert trace_id_of(trigger_headers) == trace.trace_id
    assert trace_id_of(result_headers) == trace.trace_id
    assert correlation_of(trigger_headers) == trigger.correlationid
    assert correlation_of(result_headers) == trigger.correlationid
    services = {span.service for span in trace.spans}
    assert {"alertmesh-webhook", "alertmesh-ingest", "alertmesh-orchestrator", "alertmesh-executor"} <= services
    names = [span.name for span in trace.spans]
    assert "process alerts.raw" in names
    assert "process alertmesh.triggers" in names
    assert "RunActivity:run_actions" in names
    assert "publish alertmesh.results" in names
    # Each action attempt has its span, and the Ray task its own, exported by the Ray worker process.
    actions = [span for span in trace.spans if span.name.startswith("action ")]
    assert {span.attrs[tracing.REF] for span in actions} == {report.ref for report in result.data.actions}
    ray_tasks = [span for span in trace.spans if span.attrs.get(tracing.RAY_WORKER)]
    assert len(ray_tasks) == len(actions)
    assert {task.parent_id for task in ray_tasks} == {action.span_id for action in actions}
    # The correlation id crossed Kafka, Temporal's headers and the Ray carrier as baggage.
    assert {task.attrs.get(tracing.CORRELATION_ID) for task in ray_tasks} == {trigger.correlationid}

    # The alert's event id is its correlation id (ingest's choice); the workflow id is its idempotency key.
    for identifier in (trigger.correlationid, key, result.data.workflow_id, trace.trace_id):
        shown = alertmesh_trace(mesh, identifier)
        assert f"trace {trace.trace_id}" in shown
        for hop in ("webhook", "ingest", "orchestrator", "executor (ray)", "process alertmesh.triggers"):
            assert hop in shown
        assert "result: completed" in shown
        assert f"http://ui.example:8233/namespaces/default/workflows/{key.replace(':', '%3A')}/" in shown
        for report in result.data.actions:
            assert report.ref in shown


async def test_a_dead_lettered_alert_is_traced_to_its_dead_letter(mesh: Mesh) -> None:
    marker = uuid.uuid4().hex
    poison = f'{{"not": "an alert", "marker": "{marker}"}}'.encode()
    dlq_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.dlq)
    sender_trace = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=mesh.webhook_url) as http:
        answer = await http.post(
            "/v1/alerts/prometheus",
            content=poison,
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {mesh.webhook_key}",
                # The sender's own trace: the alert's path continues it.
                "traceparent": f"00-{sender_trace}-{uuid.uuid4().hex[:16]}-01",
            },
        )
    assert answer.status_code == 202, answer.text
    # The dead letter keeps the original base64-encoded: found by the trace its headers carry.
    raw, headers = await next_record(
        mesh, mesh.topics.dlq, dlq_from, lambda _, headers: sender_trace in headers.get("traceparent", "")
    )
    assert DeadLetter.from_json(raw).data.original == poison
    assert DeadLetter.from_json(raw).data.stage == "parse"
    assert trace_id_of(headers) == sender_trace

    trace = await finished_trace(mesh, sender_trace)
    [ingest] = [span for span in trace.spans if span.service == "alertmesh-ingest"]
    assert ingest.status == "ERROR"
    assert ingest.attrs[tracing.DEAD_LETTER_STAGE] == "parse"
    assert "alertmesh-webhook" in {span.service for span in trace.spans}
    shown = alertmesh_trace(mesh, sender_trace)
    assert "dead letter: ingest" in shown
    assert "stage parse" in shown
    # An operator starting from ``alertmesh dlq list`` has the dead letter's FROM: it names the same trace.
    data = DeadLetter.from_json(raw).data
    position = f"{data.original_topic}@{data.original_partition}/{data.original_offset}"
    assert f"trace {sender_trace}" in alertmesh_trace(mesh, position)


async def test_a_trigger_the_orchestrator_cannot_start_is_traced_to_its_dead_letter(mesh: Mesh) -> None:
    fingerprint = f"unknown-workflow-{uuid.uuid4().hex[:12]}"
    triggers_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.triggers)
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, variant(fingerprint))
    raw_trigger, _ = await next_record(
        mesh, mesh.topics.triggers, triggers_from, lambda value, _: fingerprint.encode() in value
    )
    trigger = WorkflowTrigger.from_json(raw_trigger)
    workflow = f"no-such-workflow-{uuid.uuid4().hex[:12]}"
    unknown = trigger.model_copy(update={"data": trigger.data.model_copy(update={"workflow": workflow})})
    sender_trace = uuid.uuid4().hex
    dlq_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.dlq)
    await kafka_tools.publish(
        mesh.kafka,
        mesh.topics.triggers,
        unknown.to_json(),
        key=b"unknown-workflow",
        headers=unknown.kafka_headers() | {"traceparent": f"00-{sender_trace}-{uuid.uuid4().hex[:16]}-01"},
    )
    raw, headers = await next_record(mesh, mesh.topics.dlq, dlq_from, lambda value, _: workflow.encode() in value)
    assert DeadLetter.from_json(raw).data.stage == "start"
    assert trace_id_of(headers) == sender_trace
    trace = await finished_trace(mesh, sender_trace)
    [hop] = [span for span in trace.spans if span.service == "alertmesh-orchestrator"]
    assert hop.attrs[tracing.DEAD_LETTER_STAGE] == "start"
    assert workflow in hop.attrs[tracing.DEAD_LETTER_REASON]
