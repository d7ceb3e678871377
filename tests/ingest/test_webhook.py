"""The webhook bridge against FastStream's in-memory TestKafkaBroker, through httpx's ASGI transport."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, HTTPException, Request
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.ingest.config import WebhookSettings
from services.ingest.webhook import build_webhook
from services.shared.topics import TopicSettings

SETTINGS = WebhookSettings(max_body_bytes=4096, topics=TopicSettings(raw="w.raw"))
JSON = {"content-type": "application/json"}


class RawTopic:
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes | None, dict[str, str]]] = []


@pytest.fixture
async def bridge() -> AsyncIterator[tuple[httpx.AsyncClient, RawTopic]]:
    app = build_webhook(SETTINGS)
    raw = RawTopic()
    broker: KafkaBroker = app.state.broker

    @broker.subscriber(SETTINGS.topics.raw)
    async def on_raw(message: KafkaMessage) -> None:
        raw.messages.append((message.body, message.raw_message.key, dict(message.headers)))  # type: ignore[union-attr]

    async with (
        TestKafkaBroker(app.state.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        yield client, raw


async def test_alert_is_written_unchanged_then_accepted(
    bridge: tuple[httpx.AsyncClient, RawTopic], alertmanager_bytes: bytes
) -> None:
    client, raw = bridge
    response = await client.post("/v1/alerts/prom-eu.1", content=alertmanager_bytes, headers=JSON)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "topic": "w.raw"}
    [(body, key, headers)] = raw.messages
    assert body == alertmanager_bytes
    assert key == b"prom-eu.1"
    assert headers["alertmesh-source"] == "prom-eu.1"
    assert headers["content-type"] == "application/json"


async def test_cloudevents_content_type_is_accepted_and_forwarded(
    bridge: tuple[httpx.AsyncClient, RawTopic], cloudevent_bytes: bytes
) -> None:
    client, raw = bridge
    content_type = "application/cloudevents+json; charset=utf-8"
    response = await client.post("/v1/alerts/edr", content=cloudevent_bytes, headers={"content-type": content_type})
    assert response.status_code == 202
    assert raw.messages[0][2]["content-type"] == content_type


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"{not json", JSON, "body is not valid JSON"),
        (b"[1]", JSON, "body must be a JSON object"),
        (b'{"a": 1}', {"content-type": "text/plain"}, "Content-Type must be JSON"),
        (b'{"a": 1}', {}, "got none"),
    ],
)
async def test_non_json_is_rejected_with_a_reason(
    bridge: tuple[httpx.AsyncClient, RawTopic], body: bytes, headers: dict[str, str], reason: str
) -> None:
    client, raw = bridge
    response = await client.post("/v1/alerts/prom", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["status"] == "rejected"
    assert reason in response.json()["reason"]
    assert raw.messages == []


@pytest.mark.parametrize("source", ["-leading-dash", "a" * 65, "sp ace", "semi;colon"])
async def test_bad_source_is_rejected(bridge: tuple[httpx.AsyncClient, RawTopic], source: str) -> None:
    client, raw = bridge
    response = await client.post(f"/v1/alerts/{source}", content=b"{}", headers=JSON)
    assert response.status_code == 400
    assert "invalid source" in response.json()["reason"]
    assert raw.messages == []


async def test_too_large_body_is_413(bridge: tuple[httpx.AsyncClient, RawTopic]) -> None:
    client, raw = bridge
    big = b'{"pad": "' + b"x" * 5000 + b'"}'
    assert (await client.post("/v1/alerts/prom", content=big, headers=JSON)).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for _ in range(10):
            yield b"x" * 1000

    response = await client.post("/v1/alerts/prom", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert "4096-byte limit" in response.json()["reason"]
    assert raw.messages == []


async def test_guards_are_the_seam_for_auth() -> None:
    async def require_token(request: Request) -> None:
        if request.headers.get("authorization") != "Bearer s3cret":
            raise HTTPException(status_code=401, detail="missing or wrong token")

    app = build_webhook(SETTINGS, guards=[Depends(require_token)])
    async with (
        TestKafkaBroker(app.state.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        assert (await client.post("/v1/alerts/x", content=b"{}", headers=JSON)).status_code == 401
        authorized = JSON | {"authorization": "Bearer s3cret"}
        assert (await client.post("/v1/alerts/x", content=b"{}", headers=authorized)).status_code == 202
