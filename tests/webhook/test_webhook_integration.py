"""The webhook bridge against a real (embedded Tansu) Kafka broker, with a real credentials file."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from alertmesh.stack.embedded import free_port, tansu_command, wait_for_port
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings
from services.webhook import routes
from services.webhook.app import create_app
from services.webhook.config import WebhookSettings
from tests.ingest.kafka_io import create_topics, end_offset, read, unique_topics
from tests.webhook.credentials import KEY, write_credentials

pytestmark = pytest.mark.integration
JSON = {"content-type": "application/json"}
AUTHORIZED = JSON | {"authorization": f"Bearer {KEY}"}


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        yield client


def settings_for(bootstrap: str, topics: TopicSettings, tmp_path: Path, **extra: Any) -> WebhookSettings:
    credentials = write_credentials(tmp_path / "webhook-credentials.yaml")
    kafka = extra.pop("kafka", KafkaSettings(bootstrap_servers=bootstrap))
    return WebhookSettings(kafka=kafka, topics=topics, credentials_file=credentials, **extra)


async def test_accepted_alert_is_on_the_raw_topic(
    kafka_bootstrap: str, alertmanager_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", "grafana-secret-0123456789")
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    async with serving(create_app(settings_for(kafka_bootstrap, topics, tmp_path))) as client:
        assert (await client.get("/healthz")).status_code == 200
        response = await client.post("/v1/alerts/prometheus", content=alertmanager_bytes, headers=AUTHORIZED)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "topic": topics.raw, "partition": 0, "offset": 0}
    [record] = await read(kafka_bootstrap, topics.raw, 1)
    assert record.value == alertmanager_bytes
    assert record.key is None  # unkeyed: spread over every partition
    headers = dict(record.headers)
    assert headers["alertmesh-source"] == b"prometheus"
    assert headers["content-type"] == b"application/json"


async def test_unauthorized_posts_write_nothing(
    kafka_bootstrap: str, alertmanager_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", "grafana-secret-0123456789")
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    async with serving(create_app(settings_for(kafka_bootstrap, topics, tmp_path))) as client:
        missing = await client.post("/v1/alerts/prometheus", content=alertmanager_bytes, headers=JSON)
        wrong = await client.post(
            "/v1/alerts/prometheus", content=alertmanager_bytes, headers=JSON | {"x-api-key": "guess"}
        )
        unknown = await client.post("/v1/alerts/intruder", content=alertmanager_bytes, headers=AUTHORIZED)
        # Then one authorized post: it must be the only record on the topic.
        ok = await client.post("/v1/alerts/prometheus", content=b'{"marker": 1}', headers=AUTHORIZED)
    # An unknown source was 404; it is answered like bad credentials now (the port does not say which exist).
    assert (missing.status_code, wrong.status_code, unknown.status_code, ok.status_code) == (401, 401, 401, 202)
    assert "www-authenticate" in missing.headers
    [record] = await read(kafka_bootstrap, topics.raw, 1)
    assert record.value == b'{"marker": 1}'
    assert await end_offset(kafka_bootstrap, topics.raw) == 1


async def test_kafka_gone_means_503_not_202(
    tmp_path: Path, alertmanager_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broker of this test's own, so stopping it harms no other test.
    port = free_port()
    broker = subprocess.Popen(tansu_command("127.0.0.1", port), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", "grafana-secret-0123456789")
        kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000)
        settings = settings_for("", unique_topics(), tmp_path, publish_timeout_s=2.0, kafka=kafka, retry_after_s=7)
        async with serving(create_app(settings)) as client:
            ok = await client.post("/v1/alerts/prometheus", content=alertmanager_bytes, headers=AUTHORIZED)
            assert ok.status_code == 202
            broker.terminate()
            broker.wait(timeout=10)
            refused = await client.post("/v1/alerts/prometheus", content=alertmanager_bytes, headers=AUTHORIZED)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "7"
            assert refused.json()["status"] == "unavailable"
            assert "Kafka" in refused.json()["reason"]
            assert (await client.get("/healthz")).status_code == 503
    finally:
        if broker.poll() is None:
            broker.kill()
            broker.wait()


def json_of_size(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    head, tail = b'{"pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_a_record_kafka_can_never_take_is_413_not_503(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", "grafana-secret-0123456789")
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    settings = settings_for(kafka_bootstrap, topics, tmp_path)
    limit = settings.kafka.max_message_bytes
    assert settings.max_body_bytes >= limit  # the defaults: a body the bridge reads can still be too large a record
    async with serving(create_app(settings)) as client:
        # Just under the body limit, and at exactly the producer's limit: the key and headers push it over.
        for size in (settings.max_body_bytes - 1, limit - 100):
            response = await client.post("/v1/alerts/prometheus", content=json_of_size(size), headers=AUTHORIZED)
            assert response.status_code == 413, (size, response.text)
            assert "retry-after" not in response.headers
            assert response.json()["status"] == "rejected"
            assert f"{limit}-byte limit" in response.json()["reason"] and "do not retry" in response.json()["reason"]
        # An NDJSON batch: the line that can never be written is 413, the others are written.
        batch = b'{"n": 1}\n' + json_of_size(limit - 50) + b'\n{"n": 3}\n'
        lines = await client.post(
            "/v1/alerts/prometheus", content=batch, headers=AUTHORIZED | {"content-type": "application/x-ndjson"}
        )
        assert lines.status_code == 207 and "retry-after" not in lines.headers
        assert [line["status"] for line in lines.json()["lines"]] == [202, 413, 202]
        # A record that fits is written as before.
        fits = await client.post("/v1/alerts/prometheus", content=json_of_size(limit // 2), headers=AUTHORIZED)
        assert fits.status_code == 202, fits.text
    assert await end_offset(kafka_bootstrap, topics.raw) == 3


async def test_a_broker_refusing_a_record_for_its_size_is_413(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The producer measures against the mesh's own limit; here the bridge's limit is the producer's, so the
    # record reaches the producer, which refuses it by size (as a broker with a smaller message.max.bytes would).
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", "grafana-secret-0123456789")
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    settings = settings_for(kafka_bootstrap, topics, tmp_path)
    app = create_app(settings)
    monkeypatch.setattr(routes, "oversize", lambda *_: None)  # skip the bridge's own measure: the producer decides
    async with serving(app) as client:
        response = await client.post(
            "/v1/alerts/prometheus", content=json_of_size(settings.max_body_bytes - 1), headers=AUTHORIZED
        )
    assert response.status_code == 413, response.text
    assert "too large" in response.json()["reason"] and "retry-after" not in response.headers
    assert await end_offset(kafka_bootstrap, topics.raw) == 0
