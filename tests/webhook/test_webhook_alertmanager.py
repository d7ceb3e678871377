"""A real Prometheus Alertmanager delivers to the webhook bridge with Bearer auth, as the README configures it.

Needs the ``alertmanager`` binary (Debian: ``prometheus-alertmanager``) on PATH or at ``$ALERTMANAGER_BIN``;
skipped, saying so, where there is none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from alertmesh.stack.embedded import free_port, port_open, wait_for_port
from services.webhook.credentials import hash_key
from tests.ingest.kafka_io import create_topics, read, unique_topics
from tests.webhook.credentials import KEY, write_credentials

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def alertmanager_binary() -> str | None:
    explicit = os.environ.get("ALERTMANAGER_BIN")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")


def receiver_config(webhook_port: int) -> dict[str, object]:
    """The Alertmanager receiver from the README, pointed at this test's webhook; sends at once."""
    return {
        "route": {"receiver": "alertmesh", "group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [
            {
                "name": "alertmesh",
                "webhook_configs": [
                    {
                        "url": f"http://127.0.0.1:{webhook_port}/v1/alerts/alertmanager",
                        "http_config": {"authorization": {"type": "Bearer", "credentials": KEY}},
                    }
                ],
            }
        ],
    }


def spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def test_alertmanager_with_bearer_auth_gets_its_alert_onto_the_raw_topic(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    binary = alertmanager_binary()
    if binary is None:
        pytest.skip("no Alertmanager binary (install prometheus-alertmanager or set ALERTMANAGER_BIN)")
    topics = unique_topics()
    await create_topics(kafka_bootstrap, topics)
    webhook_port, am_port = free_port(), free_port()
    credentials = write_credentials(
        tmp_path / "creds.yaml", {"alertmanager": {"api_keys": [{"sha256": hash_key(KEY)}]}}
    )
    webhook_env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **topics.env(),
        "WEBHOOK_PORT": str(webhook_port),
        "WEBHOOK_METRICS_PORT": str(free_port()),
        "WEBHOOK_CREDENTIALS_FILE": str(credentials),
    }
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(receiver_config(webhook_port)))
    webhook = spawn([sys.executable, "-m", "services.webhook"], tmp_path / "webhook.log", webhook_env)
    alertmanager = spawn(
        [
            binary,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # no gossip port: a single, private instance
        ],
        tmp_path / "alertmanager.log",
    )
    try:
        wait_for_port("127.0.0.1", webhook_port, timeout=60)
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", am_port):
            assert alertmanager.poll() is None, (tmp_path / "alertmanager.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "Alertmanager did not listen within 60 s"
            time.sleep(0.2)
        alert = {"labels": {"alertname": "DiskFull", "instance": "db-1"}, "annotations": {"summary": "disk full"}}
        async with httpx.AsyncClient() as http:
            posted = await http.post(f"http://127.0.0.1:{am_port}/api/v2/alerts", json=[alert])
        assert posted.status_code == 200, posted.text
        [record] = await read(kafka_bootstrap, topics.raw, 1, timeout=60)
        payload = yaml.safe_load(record.value)  # JSON is YAML
        assert payload["version"] == "4" and payload["receiver"] == "alertmesh"
        assert payload["alerts"][0]["labels"]["alertname"] == "DiskFull"
        assert dict(record.headers)["alertmesh-source"] == b"alertmanager"
        time.sleep(0.5)  # let the webhook log the 202 before it is stopped
        assert '"POST /v1/alerts/alertmanager HTTP/1.1" 202' in (tmp_path / "webhook.log").read_text()
    finally:
        stop(alertmanager)
        stop(webhook)
