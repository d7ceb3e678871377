"""Alertmanager's own clients against the whole mesh (``alertmesh up``): a real Prometheus whose rule fires starts
a workflow run, and an ``amtool`` silence mutes an alert that then flows once the silence is expired. Each test is
skipped, saying which Debian package is missing, where its binary is not installed."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from alertmesh.stack.embedded import free_port
from schemas import WorkflowResult, WorkflowTrigger
from tests.e2e.conftest import Mesh
from tests.e2e.kafka_reading import next_event
from tests.e2e.test_mesh import offsets, sent_trigger_and_result
from tests.webhook.test_alertmanager_api_integration import binary, stop

pytestmark = pytest.mark.integration


def postable(name: str, **labels: str) -> dict[str, Any]:
    """One alert as Prometheus posts it to ``/api/v2/alerts``."""
    return {"labels": {"alertname": name, "severity": "critical", **labels}, "annotations": {"summary": name},
            "startsAt": datetime.now(UTC).isoformat()}  # fmt: skip


def amtool(mesh: Mesh, tmp_path: Path, *args: str) -> str:
    config = tmp_path / "amtool-http.yml"
    config.write_text(yaml.safe_dump({"authorization": {"credentials": mesh.webhook_key}}))
    command = [binary("amtool", "AMTOOL_BIN"), f"--alertmanager.url={mesh.webhook_url}",
               f"--http.config.file={config}", *args]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


async def test_a_prometheus_rule_that_fires_becomes_a_workflow_run(mesh: Mesh, tmp_path: Path) -> None:
    prometheus = binary("prometheus", "PROMETHEUS_BIN")
    name = f"E2EPrometheus{uuid.uuid4().hex[:8]}"
    rule = {"alert": name, "expr": "vector(1)", "labels": {"severity": "critical"}}
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "e2e", "interval": "1s", "rules": [rule]}]})
    )
    (tmp_path / "key").write_text(mesh.webhook_key)
    config = {
        "global": {"evaluation_interval": "1s", "scrape_interval": "1m"},
        "rule_files": ["rules.yml"],
        "alerting": {"alertmanagers": [{
            "api_version": "v2", "authorization": {"credentials_file": str(tmp_path / "key")},
            "static_configs": [{"targets": [mesh.webhook_url.removeprefix("http://")]}],
        }]},
    }  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    command = [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{free_port()}", "--rules.alert.resend-delay=1s"]  # fmt: skip
    triggers_from, results_from = await offsets(mesh, mesh.topics.triggers), await offsets(mesh, mesh.topics.results)
    with (tmp_path / "prometheus.log").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        trigger = await next_event(
            mesh.kafka, mesh.topics.triggers, WorkflowTrigger, triggers_from, lambda t: t.data.alert.name == name
        )
    finally:
        stop(process)
    result = await next_event(
        mesh.kafka, mesh.topics.results, WorkflowResult, results_from,
        lambda r: r.data.workflow_id == trigger.data.idempotency_key, timeout_s=90,
    )  # fmt: skip
    assert trigger.data.alert.source == "prometheus" and trigger.data.alert.format.startswith("prometheus")
    assert result.data.status == "completed", result.data


async def test_an_amtool_silence_mutes_an_alert_that_flows_once_it_is_expired(mesh: Mesh, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    silenced, sentinel = f"E2ESilenced{tag}", f"E2ESentinel{tag}"
    silence_id = amtool(mesh, tmp_path, "silence", "add", f"alertname={silenced}", "--comment=e2e", "--duration=1h",
                        "--author=e2e").strip()  # fmt: skip
    await asyncio.sleep(1)  # the silence reaches ingest's table (it follows the topic)
    authorized = {"authorization": f"Bearer {mesh.webhook_key}"}
    async with httpx.AsyncClient(base_url=mesh.webhook_url, headers=authorized, timeout=30) as http:

        async def post() -> None:
            answer = await http.post("/api/v2/alerts", json=[postable(silenced), postable(sentinel)])
            assert answer.status_code == 200, answer.text

        # The sentinel runs; the silenced alert starts nothing meanwhile.
        triggers_from = await offsets(mesh, mesh.topics.triggers)
        _, result = await sent_trigger_and_result(mesh, post(), lambda t: t.data.alert.name == sentinel)
        assert result.data.status == "completed"
        listed = (await http.get("/api/v2/alerts", params={"filter": f'alertname="{silenced}"'})).json()
        assert [alert["status"]["silencedBy"] for alert in listed] == [[silence_id]]
        assert listed[0]["status"]["state"] == "suppressed"
        # Expired while the alert still fires: the held alert starts its workflow now.
        amtool(mesh, tmp_path, "silence", "expire", silence_id)
        trigger = await next_event(
            mesh.kafka, mesh.topics.triggers, WorkflowTrigger, triggers_from, lambda t: t.data.alert.name == silenced
        )
    assert trigger.data.alert.labels["alertname"] == silenced
