"""The webhook bridge against a real (embedded Tansu) Kafka broker."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from alertmesh.embedded import free_port, tansu_command, wait_for_port
from services.ingest.config import WebhookSettings
from services.ingest.webhook import build_webhook
from services.shared.kafka import KafkaSettings
from tests.ingest.kafka_io import create_topics, read, unique_topics

pytestmark = pytest.mark.integration
JSON = {"content-type": "application/json"}


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        yield client


async def test_accepted_alert_is_on_the_raw_topic(kafka_bootstrap: str, alertmanager_bytes: bytes) -> None:
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    settings = WebhookSettings(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap), topics=topics)
    async with serving(build_webhook(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        response = await client.post("/v1/alerts/prometheus", content=alertmanager_bytes, headers=JSON)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "topic": topics.raw, "partition": 0, "offset": 0}
    [record] = await read(kafka_bootstrap, topics.raw, 1)
    assert record.value == alertmanager_bytes
    assert record.key == b"prometheus"
    headers = dict(record.headers)
    assert headers["alertmesh-source"] == b"prometheus"
    assert headers["content-type"] == b"application/json"


async def test_kafka_gone_means_503_not_202(tmp_path: object, alertmanager_bytes: bytes) -> None:
    # A broker of this test's own, so stopping it harms no other test.
    port = free_port()
    broker = subprocess.Popen(tansu_command("127.0.0.1", port), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        settings = WebhookSettings(
            publish_timeout_s=2.0,
            kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000),
            topics=unique_topics(),
        )
        async with serving(build_webhook(settings)) as client:
            ok = await client.post("/v1/alerts/prometheus", content=alertmanager_bytes, headers=JSON)
            assert ok.status_code == 202
            broker.terminate()
            broker.wait(timeout=10)
            refused = await client.post("/v1/alerts/prometheus", content=alertmanager_bytes, headers=JSON)
            assert refused.status_code == 503
            assert refused.json()["status"] == "unavailable"
            assert "Kafka" in refused.json()["reason"]
            assert (await client.get("/healthz")).status_code == 503
    finally:
        if broker.poll() is None:
            broker.kill()
            broker.wait()
