"""The webhook bridge against FastStream's in-memory TestKafkaBroker, through httpx's ASGI transport.

The body checks run with authentication off (``allow_unauthenticated``); the authentication tests use a real
credentials file.
"""

import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, HTTPException, Request
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from services.shared.topics import TopicSettings
from services.webhook.app import create_app
from services.webhook.auth import UNAUTHORIZED
from services.webhook.config import WebhookSettings
from services.webhook.credentials import CredentialsFileError
from tests.webhook.credentials import (
    GITHUB_SECRET,
    GRAFANA_SECRET,
    GRAFANA_SIGNATURE,
    GRAFANA_TIMESTAMP,
    KEY,
    OLD_KEY,
    hmac_hex,
    write_credentials,
)

SETTINGS = WebhookSettings(max_body_bytes=4096, topics=TopicSettings(raw="w.raw"), allow_unauthenticated=True)
JSON = {"content-type": "application/json"}


class RawTopic:
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes | None, dict[str, str]]] = []


@asynccontextmanager
async def serving(settings: WebhookSettings) -> AsyncIterator[tuple[httpx.AsyncClient, RawTopic]]:
    app = create_app(settings)
    raw = RawTopic()
    broker: KafkaBroker = app.state.bridge.broker

    @broker.subscriber(SETTINGS.topics.raw)
    async def on_raw(message: KafkaMessage) -> None:
        raw.messages.append((message.body, message.raw_message.key, dict(message.headers)))  # type: ignore[union-attr]

    async with (
        TestKafkaBroker(app.state.bridge.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        yield client, raw


@pytest.fixture
async def bridge() -> AsyncIterator[tuple[httpx.AsyncClient, RawTopic]]:
    async with serving(SETTINGS) as served:
        yield served


async def test_alert_is_written_unchanged_then_accepted(
    bridge: tuple[httpx.AsyncClient, RawTopic], alertmanager_bytes: bytes
) -> None:
    client, raw = bridge
    response = await client.post("/v1/alerts/prom-eu.1", content=alertmanager_bytes, headers=JSON)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "topic": "w.raw"}
    [(body, key, headers)] = raw.messages
    assert body == alertmanager_bytes
    assert not key  # unkeyed: the producer spreads raw records over every partition
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
        (b"1", JSON, "body must be a JSON object or array"),
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


async def test_guards_run_before_each_post() -> None:
    async def require_header(request: Request) -> None:
        if request.headers.get("x-tenant") != "t1":
            raise HTTPException(status_code=429, detail="over quota")

    app = create_app(SETTINGS, guards=[Depends(require_header)])
    async with (
        TestKafkaBroker(app.state.bridge.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        assert (await client.post("/v1/alerts/x", content=b"{}", headers=JSON)).status_code == 429
        allowed = JSON | {"x-tenant": "t1"}
        assert (await client.post("/v1/alerts/x", content=b"{}", headers=allowed)).status_code == 202


# Authentication, with a real credentials file.


@pytest.fixture
async def authed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, RawTopic]]:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", GRAFANA_SECRET)
    settings = WebhookSettings(
        max_body_bytes=4096, topics=TopicSettings(raw="w.raw"), credentials_file=write_credentials(tmp_path / "c.yaml")
    )
    async with serving(settings) as served:
        yield served


async def test_a_valid_key_is_accepted_and_written(authed: tuple[httpx.AsyncClient, RawTopic]) -> None:
    client, raw = authed
    response = await client.post("/v1/alerts/prometheus", content=b"{}", headers=JSON | {"x-api-key": KEY})
    assert response.status_code == 202
    assert [body for body, _, _ in raw.messages] == [b"{}"]


@pytest.mark.parametrize("credential", [{}, {"authorization": "Bearer wrong"}, {"x-api-key": OLD_KEY + "x"}])
async def test_missing_or_wrong_key_is_401_and_nothing_is_written(
    authed: tuple[httpx.AsyncClient, RawTopic], credential: dict[str, str]
) -> None:
    client, raw = authed
    response = await client.post("/v1/alerts/prometheus", content=b"{}", headers=JSON | credential)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="alertmesh webhook"'
    assert response.json()["status"] == "rejected" and response.json()["reason"]
    assert raw.messages == []


async def test_unknown_source_is_answered_like_a_wrong_key_and_nothing_is_written(
    authed: tuple[httpx.AsyncClient, RawTopic],
) -> None:
    # Was 404 naming the source: that told a stranger which sources exist. Now one 401 for both.
    client, raw = authed
    response = await client.post("/v1/alerts/stranger", content=b"{}", headers=JSON | {"x-api-key": KEY})
    wrong_key = await client.post("/v1/alerts/prometheus", content=b"{}", headers=JSON | {"x-api-key": "nope"})
    assert response.status_code == wrong_key.status_code == 401
    assert response.json() == wrong_key.json() == {"status": "rejected", "reason": UNAUTHORIZED}
    assert response.headers["www-authenticate"] == wrong_key.headers["www-authenticate"]
    assert raw.messages == []


async def test_a_signed_body_is_accepted_and_a_tampered_one_is_not(authed: tuple[httpx.AsyncClient, RawTopic]) -> None:
    client, raw = authed
    body = b'{"action": "opened"}'
    signed = JSON | {"X-Hub-Signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, body)}
    assert (await client.post("/v1/alerts/github", content=body, headers=signed)).status_code == 202
    tampered = await client.post("/v1/alerts/github", content=body.replace(b"opened", b"closed"), headers=signed)
    assert tampered.status_code == 401
    assert [body for body, _, _ in raw.messages] == [b'{"action": "opened"}']


async def test_grafana_12_signature_with_timestamp_is_accepted(
    authed: tuple[httpx.AsyncClient, RawTopic], grafana_bytes: bytes
) -> None:
    client, raw = authed
    stamp = str(int(time.time()))
    signature = hmac_hex(GRAFANA_SECRET, f"{stamp}:".encode() + grafana_bytes)
    headers = JSON | {GRAFANA_SIGNATURE: signature, GRAFANA_TIMESTAMP: stamp}
    assert (await client.post("/v1/alerts/grafana", content=grafana_bytes, headers=headers)).status_code == 202
    stale = str(int(time.time()) - 600)
    old = JSON | {
        GRAFANA_SIGNATURE: hmac_hex(GRAFANA_SECRET, f"{stale}:".encode() + grafana_bytes),
        GRAFANA_TIMESTAMP: stale,
    }
    replayed = await client.post("/v1/alerts/grafana", content=grafana_bytes, headers=old)
    # The sender is told only that its credentials failed (the reason, "replay", is in the bridge's log).
    assert replayed.status_code == 401 and replayed.json()["reason"] == UNAUTHORIZED
    assert len(raw.messages) == 1


async def test_a_signed_source_still_gets_the_size_limit(authed: tuple[httpx.AsyncClient, RawTopic]) -> None:
    client, raw = authed

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while reading to verify
        for _ in range(10):
            yield b"x" * 1000

    # With a signature header (wrong: it is checked only after the body is read); without one the request is
    # refused before its body is read at all.
    signed = JSON | {"x-hub-signature-256": "sha256=" + "0" * 64}
    response = await client.post("/v1/alerts/github", content=chunks(), headers=signed)
    assert response.status_code == 413
    assert raw.messages == []


def test_no_credentials_file_refuses_to_start_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_CREDENTIALS_FILE", raising=False)
    monkeypatch.delenv("WEBHOOK_ALLOW_UNAUTHENTICATED", raising=False)
    with pytest.raises(ValidationError, match="WEBHOOK_CREDENTIALS_FILE is not set"):
        WebhookSettings()
    monkeypatch.setenv("WEBHOOK_ALLOW_UNAUTHENTICATED", "true")
    assert WebhookSettings().credentials_file is None


def test_running_without_authentication_is_logged_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "services.webhook"):
        create_app(SETTINGS)
    assert "AUTHENTICATION IS OFF" in caplog.text


def test_a_bad_credentials_file_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("sources:\n  p: {api_keys: [{sha256: nope}]}\n")
    with pytest.raises(CredentialsFileError, match=r"c\.yaml:2:27: sources\.p\.api_keys"):
        create_app(WebhookSettings(credentials_file=tmp_path / "c.yaml"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "WEBHOOK_CREDENTIALS_FILE is not set"),
        (
            {"WEBHOOK_CREDENTIALS_FILE": "/nonexistent/creds.yaml"},
            "invalid webhook credentials (1 problem):\n/nonexistent/creds.yaml: cannot read",
        ),
    ],
)
def test_the_process_refuses_to_start_without_usable_credentials(env: dict[str, str], message: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
    done = subprocess.run(
        [sys.executable, "-m", "services.webhook"], env=clean | env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert f"webhook: cannot start: {message}" in done.stderr
