"""Test data for orchestrator tests: a trigger for the demo alert and small definitions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from dsl.model import WorkflowDefinition
from dsl.validate import check_definition
from schemas import Alert, Trigger, WorkflowTrigger

DEMO_ALERT = Alert(
    source="alertmanager",
    format="alertmanager.v4",
    status="firing",
    name="ProbeFailure",
    severity="critical",
    summary="BlackBox Probe Failure",
    description="https://server.example.org has been down for 5m",
    labels={"alertname": "ProbeFailure", "instance": "https://server.example.org", "severity": "critical"},
    annotations={
        "summary": "BlackBox Probe Failure",
        "description": "https://server.example.org has been down for 5m",
    },
    fingerprint="1a30ba71cca2921f",
    starts_at=datetime(2023, 2, 6, 13, 8, 45, tzinfo=UTC),
    generator_url="http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
)


def make_trigger(workflow: str = "triage", key: str | None = None, team: str = "on-call") -> WorkflowTrigger:
    """A trigger as ingest would publish it; a fresh idempotency key unless one is given."""
    return WorkflowTrigger(
        id=str(uuid.uuid4()),
        source="alertmesh/ingest",
        time=datetime.now(UTC),
        subject=workflow,
        correlationid=f"corr-{uuid.uuid4()}",
        causationid=str(uuid.uuid4()),
        data=Trigger(
            workflow=workflow,
            idempotency_key=key or f"test-{uuid.uuid4()}",
            route="default",
            inputs={"team": team},
            alert=DEMO_ALERT,
        ),
    )


def definition(actions: list[dict[str, Any]], returns: Any = None, name: str = "test") -> WorkflowDefinition:
    """A definition that passed the shape and the whole-definition checks; ValueError naming the problems if not."""
    checked = WorkflowDefinition.model_validate({"name": name, "actions": actions, "returns": returns})
    problems = check_definition(checked)
    if problems:
        raise ValueError("; ".join(problem.message for problem in problems))
    return checked
