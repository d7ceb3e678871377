"""Every listed metric on the ``/metrics`` of the service that owns it, after one alert flowed through the whole
mesh (webhook -> ingest -> orchestrator -> executor on Ray -> result), a poison record was dead-lettered and the
alert's trigger was delivered again."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from alertmesh import kafka_tools
from alertmesh.stack.embedded import free_port
from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from tests.e2e.conftest import Mesh
from tests.e2e.kafka_reading import committed, next_event
from tests.e2e.mesh_process import REPO
from tests.e2e.test_mesh import offsets, variant

pytestmark = pytest.mark.integration

Scrape = dict[str, list[Sample]]


async def scrape(url: str) -> Scrape:
    """Samples by metric family name (a family declared without samples maps to an empty list)."""
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}


def value(scraped: Scrape, family: str, sample: str | None = None, **labels: str) -> float:
    """The sum of the samples named ``sample`` (default: ``family`` itself) whose labels include ``labels``.
    The parser names a counter's family without its ``_total``."""
    name = sample or family
    samples = scraped.get(family.removesuffix("_total"), [])
    found = [s for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert found, f"no {name} sample with {labels}; have {samples}"
    return sum(s.value for s in found)


async def one_alert_through(mesh: Mesh, fingerprint: str) -> tuple[WorkflowTrigger, WorkflowResult]:
    """POST one alert to the webhook (and two to unknown sources); its trigger and completed result."""
    triggers_from, results_from = await offsets(mesh, mesh.topics.triggers), await offsets(mesh, mesh.topics.results)
    headers = {"content-type": "application/json", "authorization": f"Bearer {mesh.webhook_key}"}
    async with httpx.AsyncClient(base_url=mesh.webhook_url) as http:
        accepted = await http.post("/v1/alerts/prometheus", content=variant(fingerprint), headers=headers)
        assert accepted.status_code == 202, accepted.text
        # Garbage sources are refused and counted under one label, however many there are.
        for garbage in ("no-such-source-1", "no-such-source-2"):
            refused = await http.post(f"/v1/alerts/{garbage}", content=b"{}", headers=headers)
            assert refused.status_code == 401, refused.text  # was 404: unknown sources are answered like bad keys
    trigger = await next_event(
        mesh.kafka, mesh.topics.triggers, WorkflowTrigger, triggers_from,
        lambda t: t.data.alert.fingerprint == fingerprint,
    )  # fmt: skip
    result = await next_event(
        mesh.kafka, mesh.topics.results, WorkflowResult, results_from,
        lambda r: r.data.workflow_id == trigger.data.idempotency_key, timeout_s=90,
    )  # fmt: skip
    assert result.data.status == "completed", result.data
    return trigger, result


async def one_dead_letter(mesh: Mesh, poison: bytes) -> None:
    """Publish an unparseable raw record and wait for its dead letter."""
    dlq_from = await offsets(mesh, mesh.topics.dlq)
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, poison, key=b"metrics-poison")
    await next_event(mesh.kafka, mesh.topics.dlq, DeadLetter, dlq_from, lambda d: d.data.original == poison)


async def test_every_metric_is_served_by_its_service_after_an_alert_flowed(mesh: Mesh) -> None:
    urls = mesh.metrics_urls
    trigger, result = await one_alert_through(mesh, "metrics-flow")
    # The same trigger once more: the orchestrator finds its run started (a duplicate, not a second run).
    key = trigger.data.idempotency_key
    await kafka_tools.publish(
        mesh.kafka, mesh.topics.triggers, trigger.to_json(), key=key.encode(), headers=trigger.kafka_headers()
    )
    await one_dead_letter(mesh, b'{"metrics": "poison", not json')
    ends = await offsets(mesh, mesh.topics.triggers)
    deadline = time.monotonic() + 60
    while await committed(mesh.kafka, "alertmesh-orchestrator", mesh.topics.triggers) != ends:
        assert time.monotonic() < deadline, "the orchestrator did not commit the redelivered trigger"
        await asyncio.sleep(0.2)

    webhook = await scrape(urls["webhook"])
    assert value(webhook, "alertmesh_webhook_requests_total", source="prometheus", code="202") >= 1
    # Unknown sources are answered like bad credentials (401), so the port does not say which sources exist.
    assert value(webhook, "alertmesh_webhook_requests_total", source="unknown", code="401") >= 2
    assert not [s for s in webhook["alertmesh_webhook_requests"] if "no-such" in s.labels["source"]]

    ingest = await scrape(urls["ingest"])
    alert = trigger.data.alert
    assert value(ingest, "alertmesh_alerts_received_total", source=alert.source, format=alert.format) >= 1
    route, workflow = trigger.data.route, trigger.data.workflow
    assert value(ingest, "alertmesh_triggers_total", route=route, workflow=workflow) >= 1
    assert value(ingest, "alertmesh_dead_letters_total", service="ingest", stage="parse") >= 1
    raw_lag = value(ingest, "alertmesh_consumer_lag_records", group="alertmesh-ingest", topic=mesh.topics.raw)
    assert raw_lag >= 0
    assert "alertmesh_publish_retries" in ingest  # declared; a sample appears with the first retry

    orchestrator = await scrape(urls["orchestrator"])
    assert value(orchestrator, "alertmesh_workflow_starts_total", workflow=workflow) >= 1
    assert value(orchestrator, "alertmesh_workflow_start_duplicates_total", workflow=workflow) >= 1
    assert value(orchestrator, "alertmesh_workflow_results_total", workflow=workflow, status="completed") >= 1
    group = "alertmesh-orchestrator"
    # Everything is committed (waited for above): no trigger partition lags.
    assert value(orchestrator, "alertmesh_consumer_lag_records", group=group, topic=mesh.topics.triggers) == 0
    assert value(orchestrator, "alertmesh_workflow_duration_seconds", "alertmesh_workflow_duration_seconds_count") >= 1
    assert value(orchestrator, "alertmesh_alert_to_start_seconds", "alertmesh_alert_to_start_seconds_count") >= 1
    assert "alertmesh_publish_retries" in orchestrator

    executor = await scrape(urls["executor"])
    for action in result.data.actions:
        count = value(
            executor, "alertmesh_action_duration_seconds", "alertmesh_action_duration_seconds_count",
            action=action.action, status=action.status,
        )  # fmt: skip
        assert count >= 1, json.dumps(action.model_dump(mode="json"))


PROMETHEUS_BIN = shutil.which("prometheus")
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "alertmesh.json"


@pytest.fixture
def prometheus(mesh: Mesh, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping the mesh's services every second, as deploy/prometheus/prometheus.yml does in
    compose (same job names); yields its URL."""
    if PROMETHEUS_BIN is None:
        pytest.skip(
            "no prometheus binary on PATH (Debian: apt-get install prometheus): cannot run the dashboard's queries"
        )
    jobs = [
        {"job_name": name, "static_configs": [{"targets": [url.removeprefix("http://").removesuffix("/metrics")]}]}
        for name, url in mesh.metrics_urls.items()
    ]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": jobs}))
    port = free_port()
    command = [
        PROMETHEUS_BIN, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]  # fmt: skip
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def query(http: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/query", params={"query": expr})
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def test_the_dashboards_queries_run_on_a_real_prometheus_scraping_the_mesh(mesh: Mesh, prometheus: str) -> None:
    await one_alert_through(mesh, "prometheus-flow")
    await one_dead_letter(mesh, b'{"prometheus": "poison", not json')
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    async with httpx.AsyncClient(base_url=prometheus, timeout=30) as http:
        deadline = time.monotonic() + 60
        while True:  # every service scraped at least twice (rate and increase need two samples)
            up = await query(http, "count_over_time(up[1m]) >= 2 and up == 1")
            if {series["metric"]["job"] for series in up} == set(mesh.metrics_urls):
                break
            assert time.monotonic() < deadline, f"not every service is up in Prometheus: {up}"
            await asyncio.sleep(1)
        for expr in queries:
            await query(http, expr.replace("$__rate_interval", "1m"))  # each is valid PromQL the server runs
        for expr in [
            "alertmesh_alerts_received_total",
            "alertmesh_webhook_requests_total",
            "alertmesh_triggers_total",
            "alertmesh_workflow_results_total",
            "alertmesh_action_duration_seconds_count",
            "alertmesh_dead_letters_total",
            "alertmesh_consumer_lag_records",
        ]:
            assert await query(http, expr), f"Prometheus has no {expr} series"
