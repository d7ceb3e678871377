"""The webhook as it runs: ``python -m services.webhook`` (uvicorn) against a real (embedded Tansu) Kafka broker,
reached over TCP. Credentials reload, the metrics port, slow bodies and disconnects, seen from outside."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alertmesh.stack.embedded import free_port, wait_for_port
from services.shared.topics import TopicSettings
from services.webhook.auth import UNAUTHORIZED
from services.webhook.credentials import hash_key
from tests.ingest.kafka_io import create_topics, end_offset, unique_topics
from tests.webhook.credentials import (
    GITHUB_SECRET,
    GRAFANA_SECRET,
    KEY,
    OLD_KEY,
    SOURCES,
    hmac_hex,
    write_credentials,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
JSON = {"content-type": "application/json"}
NEW_KEY = "new-key-0123456789abcdef"
#: How often the process under test checks its credentials file, and how long a body may take to arrive.
RELOAD_S = 0.3
BODY_TIMEOUT_S = 1.5


@dataclass
class Webhook:
    url: str
    metrics_url: str
    port: int
    log: Path
    credentials: Path
    topics: TopicSettings
    traces: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def webhook(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Webhook]:
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    credentials = write_credentials(tmp_path / "credentials.yaml")
    port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")} | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **topics.env(),
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_METRICS_PORT": str(metrics_port),
        "WEBHOOK_CREDENTIALS_FILE": str(credentials),
        "WEBHOOK_CREDENTIALS_RELOAD_S": str(RELOAD_S),
        "WEBHOOK_BODY_READ_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "TEST_GRAFANA_WEBHOOK_SECRET": GRAFANA_SECRET,
        # Spans go to the local span store here, as under `alertmesh up`.
        "ALERTMESH_TRACES_DIR": str(tmp_path / "traces"),
    }
    log = tmp_path / "webhook.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.webhook"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        base, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
        yield Webhook(base, metrics, port, log, credentials, topics, tmp_path / "traces")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def post(webhook: Webhook, source: str, key: str, body: bytes = b"{}") -> httpx.Response:
    async with httpx.AsyncClient(base_url=webhook.url) as http:
        return await http.post(f"/v1/alerts/{source}", content=body, headers=JSON | {"authorization": f"Bearer {key}"})


async def eventually(check: Callable[[], Awaitable[bool] | bool], within_s: float) -> float:
    """Seconds until ``check()`` (awaited when it is a coroutine) is true; fails after ``within_s``."""
    started = time.monotonic()
    while True:
        outcome = check()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return time.monotonic() - started
        assert time.monotonic() - started < within_s, f"not within {within_s}s"
        await asyncio.sleep(0.05)


async def status_of(webhook: Webhook, source: str, key: str) -> int:
    return (await post(webhook, source, key)).status_code


async def answers(webhook: Webhook, source: str, key: str, status: int) -> bool:
    return await status_of(webhook, source, key) == status


async def test_a_revoked_key_stops_working_and_a_new_one_starts_without_a_restart(
    webhook: Webhook, kafka_bootstrap: str
) -> None:
    assert await status_of(webhook, "prometheus", OLD_KEY) == 202
    assert await status_of(webhook, "prometheus", NEW_KEY) == 401
    # Revoke OLD_KEY, add NEW_KEY (and a new source), as an operator edits the file.
    rotated = SOURCES | {
        "prometheus": {"api_keys": [{"sha256": hash_key(KEY)}, {"sha256": hash_key(NEW_KEY)}]},
        "zabbix": {"api_keys": [{"sha256": hash_key(NEW_KEY)}]},
    }
    write_credentials(webhook.credentials, rotated)
    await eventually(lambda: answers(webhook, "prometheus", OLD_KEY, 401), 10 * RELOAD_S + 3)
    assert await status_of(webhook, "prometheus", NEW_KEY) == 202
    assert await status_of(webhook, "zabbix", NEW_KEY) == 202
    assert await status_of(webhook, "prometheus", KEY) == 202
    assert "reloaded: 4 sources" in webhook.log_text()

    # A broken file is refused with a log line; the credentials in force stay.
    webhook.credentials.write_text("sources:\n  prometheus: {api_keys: [{sha256: nope}]}\n")
    webhook.credentials.chmod(0o600)
    await eventually(lambda: "changed but is refused" in webhook.log_text(), 10 * RELOAD_S + 3)
    assert "credentials.yaml:2:" in webhook.log_text()
    assert await status_of(webhook, "prometheus", NEW_KEY) == 202
    assert await status_of(webhook, "prometheus", OLD_KEY) == 401

    # A file anyone may write is refused too, though its content is fine.
    write_credentials(webhook.credentials, SOURCES | {"prometheus": {"api_keys": [{"sha256": hash_key(OLD_KEY)}]}})
    webhook.credentials.chmod(0o666)
    await eventually(lambda: "writable by its group and every user" in webhook.log_text(), 10 * RELOAD_S + 3)
    assert await status_of(webhook, "prometheus", OLD_KEY) == 401
    assert await status_of(webhook, "prometheus", NEW_KEY) == 202
    # Made safe, the same content is taken.
    webhook.credentials.chmod(0o600)
    await eventually(lambda: answers(webhook, "prometheus", OLD_KEY, 202), 10 * RELOAD_S + 3)
    assert await status_of(webhook, "prometheus", NEW_KEY) == 401
    assert "Traceback" not in webhook.log_text()
    # 202s: OLD_KEY at first, NEW_KEY x3 + zabbix + KEY, the last OLD_KEY (polling may add a few more).
    assert await end_offset(kafka_bootstrap, webhook.topics.raw) >= 7


async def test_metrics_are_on_their_own_port_and_the_public_port_serves_only_alerts(webhook: Webhook) -> None:
    async with httpx.AsyncClient(base_url=webhook.url) as http:
        for path in ("/metrics", "/docs", "/redoc", "/openapi.json"):
            assert (await http.get(path)).status_code == 404, path
        assert (await http.get("/healthz")).status_code == 200
        unknown = await http.post("/v1/alerts/no-such-source", content=b"{}", headers=JSON)
        wrong = await http.post("/v1/alerts/prometheus", content=b"{}", headers=JSON | {"x-api-key": "guess"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content
    assert unknown.json() == {"status": "rejected", "reason": UNAUTHORIZED}
    metrics_port = int(webhook.metrics_url.rpartition(":")[2])
    wait_for_port("127.0.0.1", metrics_port, timeout=10)
    async with httpx.AsyncClient(base_url=webhook.metrics_url) as http:
        page = await http.get("/metrics")
        assert (await http.get("/healthz")).status_code == 200
    assert page.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(page.text)}
    samples = {(s.labels["source"], s.labels["code"]): s.value for s in families["alertmesh_webhook_requests"].samples}
    assert samples[("unknown", "401")] >= 1 and samples[("prometheus", "401")] >= 1


def raw_request(port: int, source: str, headers: dict[str, str], declared: int, sent: bytes) -> socket.socket:
    """A POST whose Content-Length promises ``declared`` bytes, of which only ``sent`` are sent (so far)."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"POST /v1/alerts/{source} HTTP/1.1", "Host: bridge", f"Content-Length: {declared}"]
    lines += [f"{name}: {value}" for name, value in (JSON | headers).items()]
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
    return connection


def answer_of(connection: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


@pytest.mark.parametrize(
    ("source", "credential"),
    [("github", {"x-hub-signature-256": "sha256=" + "0" * 64}), ("prometheus", {"x-api-key": KEY})],
)
async def test_a_body_that_does_not_arrive_in_time_is_408(
    webhook: Webhook, kafka_bootstrap: str, source: str, credential: dict[str, str]
) -> None:
    started = time.monotonic()
    connection = raw_request(webhook.port, source, credential, declared=1000, sent=b'{"a": "')
    try:
        for _ in range(int(BODY_TIMEOUT_S * 4) + 8):  # a byte every quarter second: each read is quick, the whole slow
            connection.sendall(b"x")
            await asyncio.sleep(0.25)
            connection.settimeout(0.01)
            try:
                if connection.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                pass
            except ConnectionError:
                break
        connection.settimeout(10)
        answer = await asyncio.to_thread(answer_of, connection)
    finally:
        connection.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert time.monotonic() - started < BODY_TIMEOUT_S + 3
    assert await end_offset(kafka_bootstrap, webhook.topics.raw) == 0


def github_body_headers(body: bytes) -> dict[str, str]:
    return {"x-hub-signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, body)}


@pytest.mark.parametrize(("source", "key"), [("github", None), ("prometheus", KEY)])
async def test_a_sender_gone_mid_body_is_one_quiet_line_and_nothing_is_written(
    webhook: Webhook, kafka_bootstrap: str, source: str, key: str | None
) -> None:
    body = b'{"alert": "' + b"x" * 4000 + b'"}'
    credential = github_body_headers(body) if key is None else {"x-api-key": key}
    connection = raw_request(webhook.port, source, credential, declared=len(body), sent=body[:1500])
    await asyncio.sleep(0.3)
    connection.close()
    await eventually(lambda: "disconnected after" in webhook.log_text(), 10)
    await asyncio.sleep(0.5)  # anything else it would log about it
    text = webhook.log_text()
    assert "Traceback" not in text and " ERROR " not in text and "Exception in ASGI" not in text, text[-3000:]
    assert sum("disconnected" in line for line in text.splitlines()) == 1, text[-3000:]
    assert " 500" not in text
    # The bridge is fine afterwards, and nothing of the cut body was written.
    assert await status_of(webhook, "prometheus", KEY) == 202
    assert await end_offset(kafka_bootstrap, webhook.topics.raw) == 1


def stored_spans(traces: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for path in traces.glob("*.jsonl") for line in path.read_bytes().splitlines() if line]


async def test_unauthenticated_requests_leave_nothing_in_the_span_store(webhook: Webhook) -> None:
    sender_trace = "5bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = {"traceparent": f"00-{sender_trace}-00f067aa0ba902b7-01"}
    async with httpx.AsyncClient(base_url=webhook.url) as http:
        for source, credential in [
            ("prometheus", {}),
            ("prometheus", {"x-api-key": "guess"}),
            ("no-such-source", {"x-api-key": KEY}),
            ("github", {"x-hub-signature-256": "sha256=" + "0" * 64}),
        ]:
            refused = await http.post(f"/v1/alerts/{source}", content=b"{}", headers=JSON | credential | traceparent)
            assert refused.status_code == 401
        accepted = await http.post(
            "/v1/alerts/prometheus", content=b"{}", headers=JSON | {"x-api-key": KEY} | traceparent
        )
        assert accepted.status_code == 202
    # The accepted alert's span shows the store is written; the refused requests are not in it.
    await eventually(lambda: bool(stored_spans(webhook.traces)), 15)
    await asyncio.sleep(1.5)  # a second export round, for anything else
    spans = stored_spans(webhook.traces)
    assert len(spans) == 1, spans
    [span] = spans
    assert span["trace_id"] == sender_trace  # an authenticated sender's trace is continued
    attributes = span["attrs"]
    assert isinstance(attributes, dict) and attributes["http.response.status_code"] == 202
