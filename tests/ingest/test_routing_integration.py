"""Routing in the running ingest app against the real (embedded Tansu) broker: ``continue`` fan-out publishes one
trigger per workflow, and the routing file is reloaded while the app runs (an invalid version is refused)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson
import pytest

from schemas import DeadLetter, WorkflowTrigger
from services.ingest.app import build_app
from tests.ingest.kafka_io import create_topics, fresh_ingest_settings, produce, read

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
        await _logged(caplog, f"routing file {rules} reloaded: 1 rules, default dead-letter")
        await produce(kafka_bootstrap, topics.raw, _alert(alertmanager_bytes, "prod0001", env="prod"))
        await produce(kafka_bootstrap, topics.raw, _alert(alertmanager_bytes, "dev00001", env="dev"))
        records = await read(kafka_bootstrap, topics.triggers, 3)
        prod = WorkflowTrigger.from_json(records[2].value)
        assert (prod.data.route, prod.data.workflow, prod.data.alert.fingerprint) == ("prod", "enrich", "prod0001")
        [letter] = [DeadLetter.from_json(record.value) for record in await read(kafka_bootstrap, topics.dlq, 1)]
        assert letter.data.stage == "ingest.route" and "fingerprint=dev00001" in letter.data.reason

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
