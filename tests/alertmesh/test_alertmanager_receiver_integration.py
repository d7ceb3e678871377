"""The Alertmanager receiver the README shows, run by a real Prometheus Alertmanager: it posts to the webhook
bridge with the bearer key from its ``credentials_file``, and the alert lands on the raw topic as ingest reads it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from alertmesh.stack.embedded import free_port, wait_for_port
from services.ingest.parsers import SOURCE_HEADER, parse_alerts
from services.webhook.credentials import hash_key
from tests.conftest import REPO
from tests.ingest.kafka_io import create_topics, read, unique_topics
from tests.webhook.credentials import write_credentials

pytestmark = pytest.mark.integration
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

#: The receiver as the README gives it (URL and key file filled in); the route only makes the test quick.
CONFIG = """\
route:
  receiver: alertmesh
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5m
  repeat_interval: 4h

receivers:
  - name: alertmesh
    webhook_configs:
      - url: {url}
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials_file: {key_file}
"""


def _stopped(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in reversed(started):
        _stopped(process)


@pytest.mark.skipif(
    ALERTMANAGER is None, reason="needs the Prometheus Alertmanager binary (Debian: prometheus-alertmanager)"
)
async def test_alertmanager_with_the_readme_receiver_delivers_to_the_raw_topic(
    kafka_bootstrap: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    assert ALERTMANAGER is not None
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    key = f"am-key-{uuid.uuid4().hex}"
    credentials = write_credentials(
        tmp_path / "credentials.yaml", {"alertmanager": {"api_keys": [{"sha256": hash_key(key)}]}}
    )
    key_file = tmp_path / "alertmesh-key"
    key_file.write_text(key + "\n")  # Alertmanager trims the file's trailing newline
    key_file.chmod(0o600)

    webhook_port, am_port = free_port(), free_port()
    env = os.environ | {
        "WEBHOOK_PORT": str(webhook_port),
        "WEBHOOK_METRICS_PORT": str(free_port()),
        "WEBHOOK_CREDENTIALS_FILE": str(credentials),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **topics.env(),
    }
    with (tmp_path / "webhook.log").open("wb") as log:
        processes.append(subprocess.Popen([sys.executable, "-m", "services.webhook"], env=env, cwd=REPO,
                                          stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
    config = tmp_path / "alertmanager.yml"
    url = f"http://127.0.0.1:{webhook_port}/v1/alerts/alertmanager"
    config.write_text(CONFIG.format(url=url, key_file=key_file))
    if amtool := shutil.which("amtool"):  # Alertmanager's own config check, when installed beside it
        checked = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    command = [
        ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
    ]  # fmt: skip
    with (tmp_path / "alertmanager.log").open("wb") as log:
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    await asyncio.to_thread(wait_for_port, "127.0.0.1", webhook_port, 60)
    await asyncio.to_thread(wait_for_port, "127.0.0.1", am_port, 60)

    name = f"DiskFull{uuid.uuid4().hex[:6]}"
    alert = {
        "labels": {"alertname": name, "instance": "db-1", "severity": "critical"},
        "annotations": {"summary": "disk almost full"},
        "startsAt": datetime.now(UTC).isoformat(),
    }
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(50):  # the API answers a moment after the port opens
            response = await client.post(f"http://127.0.0.1:{am_port}/api/v2/alerts", json=[alert])
            if response.status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert response.status_code == 200, response.text

    [record] = await read(kafka_bootstrap, topics.raw, 1, timeout=60)
    headers = dict(record.headers)
    assert headers[SOURCE_HEADER] == b"alertmanager"
    [parsed] = parse_alerts(record.value, {name: value.decode() for name, value in record.headers})
    assert (parsed.name, parsed.status, parsed.source, parsed.labels["instance"]) == (
        name,
        "firing",
        "alertmanager",
        "db-1",
    )
