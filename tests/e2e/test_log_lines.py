"""Log lines of the real services: the mesh's text lines name service, trace id and correlation id (Temporal's
workflow logger included); ALERTMESH_LOG_FORMAT=json makes a service write JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from alertmesh import kafka_tools
from alertmesh.samples import sample
from alertmesh.stack.embedded import free_port
from tests.e2e.conftest import Mesh
from tests.e2e.mesh_process import REPO

pytestmark = pytest.mark.integration

#: ``<part> | 12:00:01 INFO    <service> [<trace id> <correlation id>] <logger>: message``
TEXT_LINE = r"^{part}\s+\| \d\d:\d\d:\d\d (INFO|WARNING) +{part} \[(-|[0-9a-f]{{32}}) \S+\] {logger}: "


async def test_mesh_text_lines_carry_the_ids_temporal_workflow_logger_included(mesh: Mesh) -> None:
    mesh.process.wait_for(TEXT_LINE.format(part="ingest", logger=r"services\.ingest"), timeout=30)
    mesh.process.wait_for(TEXT_LINE.format(part="executor", logger=r"services\.executor"), timeout=30)
    # A workflow run logs its end through temporalio's workflow logger (inside the workflow sandbox).
    fingerprint = f"log-lines-{uuid.uuid4().hex[:8]}"
    body = json.loads(sample("alertmanager-v4-firing.json").read_bytes())
    body["alerts"] = [{**body["alerts"][0], "fingerprint": fingerprint}]
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, json.dumps(body).encode())
    line = TEXT_LINE.format(part="orchestrator", logger=r"temporalio\.workflow") + f".*{fingerprint}"
    mesh.process.wait_for(line, timeout=120)


def test_a_service_writes_json_lines_when_asked(kafka_bootstrap: str) -> None:
    env = {
        **os.environ,
        "ALERTMESH_LOG_FORMAT": "json",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "INGEST_HEALTH_PORT": str(free_port()),
        "INGEST_GROUP_ID": f"log-lines-{os.getpid()}",
    }
    ingest = subprocess.Popen(
        [sys.executable, "-m", "services.ingest"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    try:
        assert ingest.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("ingest consuming" in line for line in lines):
            line = ingest.stderr.readline()
            if not line:
                break
            lines.append(line)
    finally:
        ingest.terminate()
        ingest.wait(timeout=30)
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    [consuming] = [entry for entry in entries if entry["message"].startswith("ingest consuming")]
    assert consuming["service"] == "ingest" and consuming["level"] == "INFO"
    assert consuming["logger"] == "services.ingest"
    assert (consuming["trace_id"], consuming["correlation_id"]) == ("-", "-")
