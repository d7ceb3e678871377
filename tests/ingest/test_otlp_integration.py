"""OTLP export: with the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, the webhook bridge and ingest (as a user runs
them, against the real broker) send their spans by OTLP/HTTP; a small receiver here decodes them with
``opentelemetry-proto``. One alert: one trace id from the HTTP request through ingest, and the trigger record's
``traceparent`` names it."""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from alertmesh.stack.embedded import free_port, wait_for_port
from schemas import WorkflowTrigger
from services.ingest.defaults import ROUTING_FILE
from services.webhook.credentials import hash_key
from tests.ingest.kafka_io import create_topics, read, unique_topics
from tests.webhook.credentials import KEY, write_credentials

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


class Receiver:
    """An OTLP/HTTP traces endpoint (``POST /v1/traces``, protobuf) keeping every span it was sent."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                ok = self.path == "/v1/traces" and self.headers.get("content-type") == "application/x-protobuf"
                if ok:
                    receiver.add(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {kv.key: _value(kv.value) for kv in span.attributes}
                    with self._lock:
                        self.spans.append(
                            {
                                "service": resource.get("service.name"),
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex() or None,
                                "attributes": attributes,
                            }
                        )

    def of_trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [span for span in self.spans if span["trace_id"] == trace_id]


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def _spawn(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # The standard OTLP variables only: no local span store, whatever this shell has.
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("ALERTMESH_TRACES_")}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO, env=inherited | env, stdout=out, stderr=subprocess.STDOUT
        )


async def test_webhook_and_ingest_export_one_alerts_spans_by_otlp(
    receiver: Receiver, kafka_bootstrap: str, alertmanager_bytes: bytes, tmp_path: Path
) -> None:
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    webhook_port, health_port = free_port(), free_port()
    credentials = write_credentials(
        tmp_path / "credentials.yaml", {"prom-eu": {"api_keys": [{"sha256": hash_key(KEY)}]}}
    )
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **topics.env(),
        "INGEST_GROUP_ID": f"ingest-{tmp_path.name}",
        "INGEST_ROUTING_FILE": str(ROUTING_FILE),
        "INGEST_HEALTH_PORT": str(health_port),
        "WEBHOOK_PORT": str(webhook_port),
        "WEBHOOK_METRICS_PORT": str(free_port()),
        "WEBHOOK_CREDENTIALS_FILE": str(credentials),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    logs = [tmp_path / "ingest.log", tmp_path / "webhook.log"]
    processes = [_spawn("services.ingest", env, logs[0]), _spawn("services.webhook", env, logs[1])]
    try:
        wait_for_port("127.0.0.1", health_port, timeout=60)
        wait_for_port("127.0.0.1", webhook_port, timeout=60)
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"http://127.0.0.1:{webhook_port}/v1/alerts/prom-eu",
                content=alertmanager_bytes,
                headers={"content-type": "application/json", "authorization": f"Bearer {KEY}"},
            )
        assert response.status_code == 202, response.text
        [record] = await read(kafka_bootstrap, topics.triggers, 1)
        trigger = WorkflowTrigger.from_json(record.value)
        headers = {name: value.decode() for name, value in record.headers}
        trace_id = headers["traceparent"].split("-")[1]

        def ingest_spans() -> list[dict[str, Any]]:
            return [span for span in receiver.of_trace(trace_id) if span["service"] == "alertmesh-ingest"]

        async with asyncio.timeout(30):  # both stages' spans, and the webhook's
            while len(ingest_spans()) < 2 or not any(
                s["service"] == "alertmesh-webhook" for s in receiver.of_trace(trace_id)
            ):
                await asyncio.sleep(0.1)
        spans = receiver.of_trace(trace_id)
        [normalize] = [span for span in ingest_spans() if span["name"] == f"process {topics.raw}"]
        [decide] = [span for span in ingest_spans() if span["name"] == f"process {topics.routed}"]
        for ingest, topic in ((normalize, topics.raw), (decide, topics.routed)):
            assert ingest["attributes"]["alertmesh.idempotency_key"] == trigger.data.idempotency_key
            assert ingest["attributes"]["alertmesh.correlation_id"] == trigger.correlationid
            assert ingest["attributes"]["messaging.system"] == "kafka"
            assert ingest["attributes"]["messaging.destination.name"] == topic
        # One trace: webhook -> stage 1 -> stage 2, and the trigger record's traceparent is stage 2's span (the
        # orchestrator's span will be its child).
        assert decide["parent_id"] == normalize["span_id"]
        assert headers["traceparent"].split("-")[2] == decide["span_id"]
        webhook = {span["span_id"]: span for span in spans if span["service"] == "alertmesh-webhook"}
        assert normalize["parent_id"] in webhook
        assert not [span for span in receiver.spans if span["attributes"].get("url.path") == "/healthz"]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
