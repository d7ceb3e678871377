"""``python -m services.ingest`` and ``python -m services.webhook`` as a user runs them, end to end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from alertmesh.stack.embedded import free_port, wait_for_port
from schemas import WorkflowTrigger
from services.ingest.defaults import ROUTING_FILE
from services.shared.topics import TopicSettings
from services.webhook.credentials import hash_key
from tests.ingest.kafka_io import committed, create_topics, read, unique_topics
from tests.webhook.credentials import KEY, write_credentials

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Running:
    webhook_port: int
    health_port: int
    group_id: str
    topics: TopicSettings


def _spawn(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
async def services(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Running]:
    """Ingest and the webhook bridge as processes on fresh topics; both must exit 0 on SIGTERM."""
    running = Running(free_port(), free_port(), f"ingest-{tmp_path.name}", unique_topics())
    await create_topics(kafka_bootstrap, running.topics)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **running.topics.env(),
        "INGEST_GROUP_ID": running.group_id,
        "INGEST_ROUTING_FILE": str(ROUTING_FILE),
        "INGEST_HEALTH_PORT": str(running.health_port),
        "WEBHOOK_PORT": str(running.webhook_port),
        "WEBHOOK_METRICS_PORT": str(free_port()),
        "WEBHOOK_CREDENTIALS_FILE": str(
            write_credentials(tmp_path / "credentials.yaml", {"prom-eu": {"api_keys": [{"sha256": hash_key(KEY)}]}})
        ),
    }
    logs = [tmp_path / "ingest.log", tmp_path / "webhook.log"]
    processes = [_spawn("services.ingest", env, logs[0]), _spawn("services.webhook", env, logs[1])]
    try:
        wait_for_port("127.0.0.1", running.health_port, timeout=60)
        wait_for_port("127.0.0.1", running.webhook_port, timeout=60)
        yield running
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=30) for process in processes]
        output = "\n".join(log.read_text() for log in logs)
        # A requested stop is not a crash: both exit 0 (uvicorn alone would re-raise SIGTERM and end with -15).
        assert codes == [0, 0], output
        assert "Application shutdown complete" in output
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


async def test_webhook_post_becomes_a_trigger(
    services: Running, kafka_bootstrap: str, alertmanager_bytes: bytes
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(f"http://127.0.0.1:{services.health_port}/healthz")).status_code == 200
        assert (await client.get(f"http://127.0.0.1:{services.webhook_port}/healthz")).status_code == 200
        response = await client.post(
            f"http://127.0.0.1:{services.webhook_port}/v1/alerts/prom-eu",
            content=alertmanager_bytes,
            headers={"content-type": "application/json", "authorization": f"Bearer {KEY}"},
        )
    assert response.status_code == 202, response.text
    [record] = await read(kafka_bootstrap, services.topics.triggers, 1)
    trigger = WorkflowTrigger.from_json(record.value)
    assert record.key == b"triage:prom-eu:1a30ba71cca2921f:firing:20230206T130845.828Z"
    assert trigger.data.alert.source == "prom-eu"
    assert trigger.data.alert.payload["fingerprint"] == "1a30ba71cca2921f"
    async with asyncio.timeout(30):
        while await committed(kafka_bootstrap, services.group_id, services.topics.raw) != 1:
            await asyncio.sleep(0.2)
