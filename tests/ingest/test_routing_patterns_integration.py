"""Routing regexes on a huge label, through the running ingest app and the real (embedded Tansu) broker: RE2
answers at once, so the record is routed and the next one is not held behind it. With Python's backtracking ``re``,
``.*disk.*full.*`` on this 300K-character label took about 10 s and ``.*disk.*disk.*full.*`` hours, with the event
loop blocked. (300K: the trigger carries the alert, and must stay within the 1 MiB record limit.)"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from schemas import WorkflowTrigger
from services.ingest.app import build_app
from tests.ingest.kafka_io import create_topics, fresh_ingest_settings, produce, read

pytestmark = pytest.mark.integration

RULES = """\
routes:
  - name: disk-full
    match: {labels.note: {regex: ".*disk.*full.*"}}
    workflow: disk
  - name: disks-full
    match: {labels.note: {regex: ".*disk.*disk.*full.*"}}
    workflow: disks
  - name: rest
    match: {status: firing}
    workflow: other
"""


def _alert(sample: bytes, fingerprint: str, note: str) -> bytes:
    document = orjson.loads(sample)
    for alert in document["alerts"]:
        alert["fingerprint"] = fingerprint
        alert["labels"]["note"] = note
    return orjson.dumps(document)


async def test_a_pathological_regex_on_a_huge_label_routes_at_once(
    kafka_bootstrap: str, alertmanager_bytes: bytes, tmp_path: Path
) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(RULES)
    settings = fresh_ingest_settings(kafka_bootstrap).model_copy(update={"routing_file": rules})
    topics = settings.topics
    await create_topics(kafka_bootstrap, topics)
    app, _ = build_app(settings)
    await app.start()
    try:
        await produce(kafka_bootstrap, topics.raw, _alert(alertmanager_bytes, "big00001", "disk " * 60_000))
        await produce(kafka_bootstrap, topics.raw, _alert(alertmanager_bytes, "full0001", "disk " * 1_000 + "is full"))
        records = await read(kafka_bootstrap, topics.triggers, 2, timeout=20)
    finally:
        await app.stop()
    triggers = [WorkflowTrigger.model_validate_json(record.value) for record in records]
    assert [(t.data.alert.fingerprint, t.data.workflow) for t in triggers] == [
        ("big00001", "other"),
        ("full0001", "disk"),
    ]
