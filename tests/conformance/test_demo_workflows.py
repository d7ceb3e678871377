"""The demo workflows (services.orchestrator.defaults): they load, route and run on the suite's stack."""

from __future__ import annotations

import uuid

import pytest

from dsl.loader import load_definition, load_workflows
from services.executor.catalog import action_catalog
from services.ingest.defaults import ROUTING_FILE
from services.ingest.routing import load_routing
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.conformance.harness import Stack, report, statuses
from tests.orchestrator.factories import DEMO_ALERT

PROBE_URL = "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1"


def test_every_demo_workflow_loads() -> None:
    assert {"triage", "triage-playbook"} <= set(load_workflows(WORKFLOWS_DIR, action_catalog))


def test_alerts_labelled_for_the_playbook_are_routed_to_it() -> None:
    table = load_routing(ROUTING_FILE)
    labelled = DEMO_ALERT.model_copy(update={"labels": {**DEMO_ALERT.labels, "playbook": "triage"}})
    [critical] = table.match(labelled)
    assert (critical.workflow, critical.inputs) == ("triage-playbook", {"team": "on-call", "page": True})
    [quiet] = table.match(labelled.model_copy(update={"severity": "warning"}))
    assert (quiet.workflow, quiet.inputs["page"]) == ("triage-playbook", False)
    [unlabelled] = table.match(DEMO_ALERT)
    assert unlabelled.workflow == "triage"


@pytest.mark.integration
async def test_triage_demo_returns_its_summary(stack: Stack) -> None:
    result = await stack.run(load_definition(WORKFLOWS_DIR / "triage.yaml", action_catalog), inputs={"team": "on-call"})
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {
        "alert": "ProbeFailure",
        "severity": "critical",
        "status": "firing",
        "headline": "critical: BlackBox Probe Failure",
        "urls": ["https://server.example.org", PROBE_URL],
        "team": "on-call",
    }


@pytest.mark.integration
async def test_triage_playbook_falls_back_when_intel_is_unreachable_and_hides_its_key(stack: Stack) -> None:
    key = f"intel-{uuid.uuid4().hex}"
    handle = await stack.start(
        load_definition(WORKFLOWS_DIR / "triage-playbook.yaml", action_catalog),
        inputs={"team": "sre", "page": True},
        secrets={"threatintel": {"API_KEY": key}},
    )
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {
        "extract_urls": "succeeded",
        "reputation": "failed",
        "reputation_unavailable": "succeeded",
        "page": "succeeded",
    }
    returned = result.data.returns
    assert returned["urls"] == ["https://server.example.org", PROBE_URL]
    assert returned["reputation_unavailable"]["checked"] is False
    assert "threatintel.invalid" in returned["reputation_unavailable"]["reason"]
    assert returned["page"] == {"to": "sre", "message": "critical: BlackBox Probe Failure (2 URLs)"}
    # Two URLs, each tried twice (its retry policy).
    assert report(result, "reputation").attempts >= 2
    history = await stack.client.get_workflow_handle(handle.id).fetch_history()
    assert key not in history.to_json()


@pytest.mark.integration
async def test_triage_playbook_without_urls_skips_the_lookup(stack: Stack) -> None:
    quiet = DEMO_ALERT.model_copy(
        update={"description": "disk full", "summary": "Disk full", "annotations": {}, "generator_url": None}
    )
    result = await stack.run(load_definition(WORKFLOWS_DIR / "triage-playbook.yaml", action_catalog), alert=quiet)
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {
        "extract_urls": "succeeded",
        "reputation": "skipped",
        "reputation_unavailable": "skipped",
        "page": "skipped",
    }
    assert result.data.returns["team"] == "on-call"
    assert (result.data.returns["reputation"], result.data.returns["reputation_unavailable"]) == (None, None)
