"""Every input format end to end through the real (embedded Tansu) broker: the real samples sent to the webhook
bridge and produced straight to the raw topic become triggers; an NDJSON batch on the webhook is answered line by
line and its lines become triggers; a line the bridge refused is not written at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import orjson
import pytest

from schemas import WorkflowTrigger
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.ingest.defaults import FIELD_MAPS_FILE
from services.shared.kafka import KafkaSettings
from services.webhook.app import create_app
from services.webhook.config import WebhookSettings
from tests.ingest.conftest import sample
from tests.ingest.kafka_io import create_topics, end_offset, fresh_ingest_settings, produce, read
from tests.webhook.test_webhook_integration import serving

pytestmark = pytest.mark.integration
JSON = {"content-type": "application/json"}
#: The sample's CloudEvent in HTTP binary mode: attributes as ce-* headers, the body its data.
STRUCTURED = orjson.loads(sample("cloudevents-structured.json"))
BINARY_HEADERS = {f"ce-{name}": value for name, value in STRUCTURED.items() if name not in ("data", "datacontenttype")}
BINARY_BODY = orjson.dumps(STRUCTURED["data"])


@dataclass(frozen=True)
class Mesh:
    settings: IngestSettings
    bridge: httpx.AsyncClient
    bootstrap: str

    async def triggers(self, count: int) -> list[WorkflowTrigger]:
        records = await read(self.bootstrap, self.settings.topics.triggers, count)
        return [WorkflowTrigger.from_json(record.value) for record in records]


@pytest.fixture
async def mesh(kafka_bootstrap: str) -> AsyncIterator[Mesh]:
    """Ingest (with the example field maps) and the webhook bridge on fresh topics of the real broker."""
    settings = fresh_ingest_settings(kafka_bootstrap).model_copy(update={"field_maps_file": FIELD_MAPS_FILE})
    await create_topics(kafka_bootstrap, settings.topics)
    app, _ = build_app(settings)
    webhook = create_app(
        WebhookSettings(
            kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap), topics=settings.topics, allow_unauthenticated=True
        )
    )
    await app.start()
    try:
        async with serving(webhook) as client:
            yield Mesh(settings, client, kafka_bootstrap)
    finally:
        await app.stop()


def _summary(trigger: WorkflowTrigger) -> tuple[str, str, str, str]:
    alert = trigger.data.alert
    return alert.source, alert.format, alert.name, alert.severity


EXPECTED = [
    ("prometheus", "alertmanager.v4", "ProbeFailure", "critical"),
    ("grafana", "grafana.v1", "High memory usage", "unknown"),
    ("sensor", "cloudevents", "Suspicious PowerShell download cradle", "high"),
    ("sensor-http", "cloudevents", "Suspicious PowerShell download cradle", "high"),
    ("edr", "generic", "Credential dumping via LSASS access", "critical"),
    ("edr", "generic", "Unsigned driver loaded", "medium"),
]


async def test_each_real_sample_posted_to_the_webhook_becomes_triggers(mesh: Mesh) -> None:
    posts = [
        ("prometheus", sample("alertmanager-v4-firing.json"), JSON),
        ("grafana", sample("grafana-v1-firing.json"), JSON),
        ("sensor", sample("cloudevents-structured.json"), {"content-type": "application/cloudevents+json"}),
        ("sensor-http", BINARY_BODY, JSON | BINARY_HEADERS),
        ("edr", sample("generic-edr-detections.json"), JSON),
    ]
    for source, body, headers in posts:
        response = await mesh.bridge.post(f"/v1/alerts/{source}", content=body, headers=headers)
        assert response.status_code == 202, response.text
    triggers = await mesh.triggers(len(EXPECTED))
    assert [_summary(trigger) for trigger in triggers] == EXPECTED
    grafana = triggers[1].data.alert
    assert grafana.urls["silence"].startswith("https://play.grafana.org/alerting/silence/new")
    assert grafana.payload["orgId"] == 1
    binary = triggers[3].data.alert
    assert (binary.event_source, binary.event_id) == (STRUCTURED["source"], STRUCTURED["id"])
    assert binary.labels["subject"] == "host-42"
    assert await end_offset(mesh.bootstrap, mesh.settings.topics.dlq) == 0


async def test_each_real_sample_produced_to_kafka_becomes_triggers(mesh: Mesh) -> None:
    binary_headers = [(f"ce_{name[3:]}", value.encode()) for name, value in BINARY_HEADERS.items()]
    produced = [
        (sample("alertmanager-v4-firing.json"), [("alertmesh-source", b"prometheus")]),
        (sample("grafana-v1-firing.json"), [("alertmesh-source", b"grafana")]),
        (sample("cloudevents-structured.json"), [("alertmesh-source", b"sensor")]),
        (BINARY_BODY, [("alertmesh-source", b"sensor-http"), ("content-type", b"application/json"), *binary_headers]),
        (sample("generic-edr-detections.json"), [("alertmesh-source", b"edr")]),
    ]
    for body, headers in produced:
        await produce(mesh.bootstrap, mesh.settings.topics.raw, body, headers=headers)
    assert [_summary(trigger) for trigger in await mesh.triggers(len(EXPECTED))] == EXPECTED
    assert await end_offset(mesh.bootstrap, mesh.settings.topics.dlq) == 0


async def test_an_ndjson_batch_is_answered_per_line_and_each_line_triggers(mesh: Mesh) -> None:
    lines = [
        orjson.dumps(orjson.loads(sample("alertmanager-v4-firing.json"))),
        b"{this is not json",
        orjson.dumps(orjson.loads(sample("grafana-v1-firing.json"))),
        orjson.dumps(STRUCTURED),
    ]
    response = await mesh.bridge.post(
        "/v1/alerts/batch", content=b"\n".join(lines) + b"\n", headers={"content-type": "application/x-ndjson"}
    )
    assert response.status_code == 207
    answer = response.json()
    assert [(line["line"], line["status"]) for line in answer["lines"]] == [(1, 202), (2, 400), (3, 202), (4, 202)]
    # Each written line was acknowledged by Kafka before the answer: its offset on the raw topic, in order.
    assert [line.get("offset") for line in answer["lines"]] == [0, None, 1, 2]
    raw = await read(mesh.bootstrap, mesh.settings.topics.raw, 3)
    assert [record.value for record in raw] == [lines[0], lines[2], lines[3]]
    triggers = await mesh.triggers(3)
    assert [trigger.data.alert.format for trigger in triggers] == ["alertmanager.v4", "grafana.v1", "cloudevents"]
    assert {trigger.data.alert.source for trigger in triggers} == {"batch"}
    # The refused line never reached Kafka (the written ones hold offsets 0-2): no dead letter either, the sender
    # was told.
    assert await end_offset(mesh.bootstrap, mesh.settings.topics.dlq) == 0
