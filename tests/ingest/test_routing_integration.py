"""Routing in the running ingest app against the real (embedded Tansu) broker: ``continue`` fan-out publishes one
trigger per workflow (and, with the orchestrator on the Temporal dev server, runs one workflow per rule), and the
routing file is reloaded while the app runs (an invalid version is refused)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import orjson
import pytest

from dsl.model import WorkflowDefinition
from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from services.ingest.app import build_app
from tests.conftest import TemporalServer
from tests.ingest.kafka_io import create_topics, fresh_ingest_settings, produce, read
from tests.orchestrator.conftest import running_mesh
from tests.orchestrator.factories import definition

pytestmark = pytest.mark.integration

FAN_OUT = """\
routes:
  - name: audit
    match: {status: firing}
    workflow: audit
    continue: true
  - name: critical
    match: {severity: ">= high", labels.job: {present: true}}
    workflow: triage
    inputs: {page: true}
"""
#: The next version: only alerts of env prod, to one workflow; everything else is dead-lettered.
PROD_ONLY = """\
routes:
  - name: prod
    when: ${{ 'env' in TRIGGER.alert.labels && TRIGGER.alert.labels.env == 'prod' }}
    workflow: enrich
"""
BROKEN = "routes:\n  - name: oops\n    workflow: enrich\n    match: {severity: '>= urgent'}\n"


def _alert(sample: bytes, fingerprint: str, **labels: str) -> bytes:
    """The Alertmanager sample as another alert (its own fingerprint, hence its own idempotency keys)."""
    document = orjson.loads(sample)
    for alert in document["alerts"]:
        alert["fingerprint"] = fingerprint
        alert["labels"].update(labels)
    return orjson.dumps(document)


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> logging.LogRecord:
    async with asyncio.timeout(30):
        while True:
            for record in caplog.records:
                if text in record.getMessage():
                    return record
            await asyncio.sleep(0.05)


async def test_fan_out_and_hot_reload_through_the_broker(
    kafka_bootstrap: str, alertmanager_bytes: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(FAN_OUT)
    settings = fresh_ingest_settings(kafka_bootstrap).model_copy(
        update={"routing_file": rules, "routing_reload_s": 0.2}
    )
    topics = settings.topics
    await create_topics(kafka_bootstrap, topics)
    app, _ = build_app(settings)
    caplog.set_level(logging.INFO, logger="services.ingest.routing")
    await app.start()
    try:
        # continue: true -> one alert, two workflows, two triggers with their own keys.
        await produce(kafka_bootstrap, topics.raw, alertmanager_bytes)
        records = await read(kafka_bootstrap, topics.triggers, 2)
        triggers = [WorkflowTrigger.from_json(record.value) for record in records]
        assert [(t.data.route, t.data.workflow, t.data.inputs) for t in triggers] == [
            ("audit", "audit", {}),
            ("critical", "triage", {"page": True}),
        ]
        assert [record.key for record in records] == [
            b"audit:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z",
            b"triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z",
        ]

        # A new version of the file takes over without a restart.
        rules.write_text(PROD_ONLY)
        await _logged(caplog, f"routing file {rules} reloaded: 1 rule, default dead-letter")
        await produce(kafka_bootstrap, topics.raw, _alert(alertmanager_bytes, "prod0001", env="prod"))
        await produce(kafka_bootstrap, topics.raw, _alert(alertmanager_bytes, "dev00001", env="dev"))
        records = await read(kafka_bootstrap, topics.triggers, 3)
        prod = WorkflowTrigger.from_json(records[2].value)
        assert (prod.data.route, prod.data.workflow, prod.data.alert.fingerprint) == ("prod", "enrich", "prod0001")
        [letter] = [DeadLetter.from_json(record.value) for record in await read(kafka_bootstrap, topics.dlq, 1)]
        assert letter.data.stage == "route" and "fingerprint=dev00001" in letter.data.reason

        # An invalid version is refused, named with its line and column, and the rules in force stay.
        rules.write_text(BROKEN)
        refused = await _logged(caplog, "changed but is refused")
        assert refused.levelno == logging.ERROR
        assert f"{rules}:4:23: routes.0.match: severity: 'urgent' is not on the severity scale" in refused.getMessage()
        await produce(kafka_bootstrap, topics.raw, _alert(alertmanager_bytes, "prod0002", env="prod"))
        records = await read(kafka_bootstrap, topics.triggers, 4)
        still = WorkflowTrigger.from_json(records[3].value)
        assert (still.data.route, still.data.workflow, still.data.alert.fingerprint) == ("prod", "enrich", "prod0002")
    finally:
        await app.stop()


def _echo(name: str) -> WorkflowDefinition:
    """A workflow returning the rule and inputs its trigger carries."""
    action = {"ref": "echo", "action": "core.transform.reshape", "args": {"value": "${{ TRIGGER.route }}"}}
    return definition([action], returns={"route": "${{ ACTIONS.echo.result }}", "inputs": "${{ TRIGGER.inputs }}"},
                      name=name)  # fmt: skip


async def test_fan_out_runs_one_workflow_per_rule_through_ingest_broker_and_temporal(
    kafka_bootstrap: str, temporal_server: TemporalServer, alertmanager_bytes: bytes, tmp_path: Path
) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(
        "routes:\n"
        "  - {name: record, workflow: fanout-audit, continue: true, match: {status: firing}}\n"
        "  - {name: page, workflow: fanout-page, match: {severity: '>= high'}, inputs: {who: sre}}\n"
    )
    workflows = {"fanout-audit": _echo("fanout-audit"), "fanout-page": _echo("fanout-page")}
    async with running_mesh(kafka_bootstrap, temporal_server.address, extra_definitions=workflows) as mesh:
        settings = fresh_ingest_settings(kafka_bootstrap).model_copy(
            update={"routing_file": rules, "topics": mesh.settings.topics}
        )
        app, _ = build_app(settings)
        await app.start()
        try:
            fingerprint = uuid.uuid4().hex[:16]  # its own keys, whatever else this Temporal server has run
            await produce(kafka_bootstrap, settings.topics.raw, _alert(alertmanager_bytes, fingerprint))
            events = await mesh.read(settings.topics.results, WorkflowResult, 2, timeout=90)
        finally:
            await app.stop()
    results = sorted((event.data for event, _ in events), key=lambda result: result.workflow)  # type: ignore[attr-defined]
    assert [(r.workflow, r.status, r.returns) for r in results] == [
        ("fanout-audit", "completed", {"route": "record", "inputs": {}}),
        ("fanout-page", "completed", {"route": "page", "inputs": {"who": "sre"}}),
    ]
    assert [r.workflow_id for r in results] == [
        f"fanout-audit:alertmanager:{fingerprint}:firing:20230206T130845.828Z",
        f"fanout-page:alertmanager:{fingerprint}:firing:20230206T130845.828Z",
    ]
