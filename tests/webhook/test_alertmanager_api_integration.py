"""The Alertmanager API v2 of the webhook, run as its own process against the real (embedded Tansu) broker, used
by the real clients: ``amtool`` 0.25 (silences and alerts, credentials from ``--http.config.file``) and a real
Prometheus whose alerting rule fires at once and whose ``authorization`` config posts to the webhook.

Needs ``/usr/bin/amtool`` (Debian: ``prometheus-alertmanager``) and ``prometheus`` (Debian: ``prometheus``), or
``$AMTOOL_BIN`` / ``$PROMETHEUS_BIN``; each test is skipped, saying so, where its binary is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from alertmesh.stack.embedded import free_port, wait_for_port
from schemas.alert import Alert
from schemas.alert_state import AlertState
from services.ingest.parsers.prometheus import PrometheusParser
from services.ingest.parsers.registry import read_alerts
from services.shared.alert_table import AlertTable
from services.shared.kafka import KafkaSettings
from services.shared.silences import Silences
from services.shared.topics import TopicSettings
from services.webhook.credentials import hash_key
from tests.ingest.kafka_io import create_topics, read, unique_topics
from tests.webhook.credentials import KEY, write_credentials

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples" / "webhook"
OTHER_KEY = "prom-eu-key-0123456789abcdef"


def binary(name: str, variable: str) -> str:
    """The binary's path, or skip the test saying what is missing."""
    explicit = os.environ.get(variable)
    found = explicit if explicit and Path(explicit).is_file() else shutil.which(name)
    if found is None:
        package = "prometheus" if name == "prometheus" else "prometheus-alertmanager"
        pytest.skip(f"no {name} binary (Debian package {package}, or set {variable})")
    return found


@dataclass(frozen=True)
class Served:
    url: str
    bootstrap: str
    topics: TopicSettings
    tmp: Path


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
async def webhook(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Served]:
    """The webhook process with its API, on fresh topics, with keys for sources ``prometheus`` and ``prom-eu``;
    yielded once ``/-/ready`` says both tables were read."""
    suffix = uuid.uuid4().hex[:10]
    topics = unique_topics().model_copy(update={"silences": f"silences-{suffix}", "alerts": f"alerts-{suffix}"})
    await create_topics(kafka_bootstrap, topics)
    credentials = write_credentials(
        tmp_path / "creds.yaml",
        {
            "prometheus": {"api_keys": [{"sha256": hash_key(KEY)}]},
            "prom-eu": {"api_keys": [{"sha256": hash_key(OTHER_KEY)}]},
        },
    )  # fmt: skip
    port = free_port()
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **topics.env(),
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_METRICS_PORT": str(free_port()),
        "WEBHOOK_CREDENTIALS_FILE": str(credentials),
    }
    log = tmp_path / "webhook.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.webhook"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while (await http.get(f"{url}/-/ready")).status_code != 200:
                assert time.monotonic() < deadline, (
                    "the API's tables were not read within 60 s: " + log.read_text()[-2000:]
                )
                await asyncio.sleep(0.2)
        yield Served(url, kafka_bootstrap, topics, tmp_path)
    finally:
        stop(process)


def http_config(tmp: Path, config: dict[str, Any]) -> Path:
    path = tmp / f"http-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def amtool(served: Served, config: Path, *args: str) -> str:
    """Run amtool against the webhook; its output (fails the test on a non-zero exit)."""
    command = [
        binary("amtool", "AMTOOL_BIN"),
        f"--alertmanager.url={served.url}",
        f"--http.config.file={config}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def eventually(check: Any, timeout: float = 15.0) -> Any:
    """``check()``'s first truthy value within ``timeout`` (the webhook's follower reads a table in ~0.2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


async def test_amtool_silence_add_query_expire(webhook: Served) -> None:
    # The manual's amtool configuration, with this test's key file.
    documented = yaml.safe_load((EXAMPLES / "amtool-http.yml").read_text())
    (webhook.tmp / "amtool-key").write_text(KEY + "\n")
    documented["authorization"]["credentials_file"] = str(webhook.tmp / "amtool-key")
    bearer = http_config(webhook.tmp, documented)
    silence_id = amtool(
        webhook, bearer, "silence", "add", "alertname=DiskFull", 'instance=~"db-.*"', "--comment=disk swap",
        "--author=ann", "--duration=2h",
    ).strip()  # fmt: skip
    assert len(silence_id) == 36
    assert amtool(webhook, bearer, "silence", "query", "-q").split() == [silence_id]
    [listed] = json.loads(amtool(webhook, bearer, "silence", "query", "-o", "json"))
    assert listed["status"] == {"state": "active"} and listed["createdBy"] == "ann"
    assert {(m["name"], m["value"], m["isRegex"]) for m in listed["matchers"]} == {
        ("alertname", "DiskFull", False), ("instance", "db-.*", True),
    }  # fmt: skip
    assert amtool(webhook, bearer, "silence", "query", "-q", "alertname=Other") == ""
    # amtool reads the silence and posts it back with a later end: updated in place, the id kept.
    amtool(webhook, bearer, "silence", "update", silence_id, "--duration=3h")
    assert amtool(webhook, bearer, "silence", "query", "-q").split() == [silence_id]

    # The silence is in the compacted topic: another replica (a store of its own) reads it.
    replica = Silences(KafkaSettings(bootstrap_servers=webhook.bootstrap), webhook.topics.silences)
    await replica.start(30)
    try:
        assert replica.silencing({"alertname": "DiskFull", "instance": "db-7"}, datetime.now(UTC)) == [silence_id]
    finally:
        await replica.stop()

    amtool(webhook, bearer, "silence", "expire", silence_id)
    assert amtool(webhook, bearer, "silence", "query", "-q") == ""
    assert amtool(webhook, bearer, "silence", "query", "--expired", "-q").split() == [silence_id]


async def test_amtool_refused_without_credentials(webhook: Served) -> None:
    wrong = http_config(webhook.tmp, {"authorization": {"credentials": "not-the-key"}})
    command = [binary("amtool", "AMTOOL_BIN"), f"--alertmanager.url={webhook.url}", f"--http.config.file={wrong}",
               "silence", "query"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "401" in done.stderr


async def test_amtool_alert_query_with_basic_auth(webhook: Served) -> None:
    basic = http_config(webhook.tmp, {"basic_auth": {"username": "prom-eu", "password": OTHER_KEY}})
    now = datetime.now(UTC)
    table = AlertTable(KafkaSettings(bootstrap_servers=webhook.bootstrap), webhook.topics.alerts)
    await table.start(30)
    try:
        await table.put_many(
            [
                AlertState(
                    source="prometheus", fingerprint="fp-disk", name="DiskFull", severity="critical", status="firing",
                    labels={"alertname": "DiskFull", "instance": "db-1"}, annotations={"summary": "disk full"},
                    starts_at=now - timedelta(minutes=3), updated_at=now, routes=["oncall"],
                ),
                AlertState(
                    source="prometheus", fingerprint="fp-cpu", name="CpuHigh", severity="high", status="firing",
                    labels={"alertname": "CpuHigh", "instance": "db-1"}, starts_at=now, updated_at=now,
                    routes=["oncall"], inhibited_by=["fp-disk"],
                ),
            ]
        )  # fmt: skip
    finally:
        await table.stop()

    def names(*args: str) -> list[str]:
        listed = json.loads(amtool(webhook, basic, "alert", "query", "-o", "json", *args))
        return sorted(alert["labels"]["alertname"] for alert in listed)

    assert eventually(lambda: names()) == ["DiskFull"]  # amtool shows active alerts: CpuHigh is inhibited
    assert names("--inhibited") == ["CpuHigh"]  # amtool asks active=false&inhibited=true: the inhibited only
    assert "DiskFull" in amtool(webhook, basic, "alert", "query", "alertname=DiskFull")
    silence_id = amtool(webhook, basic, "silence", "add", "alertname=DiskFull", "-c", "swap").strip()
    assert names() == []
    [silenced] = json.loads(amtool(webhook, basic, "alert", "query", "-o", "json", "--silenced"))
    assert silenced["status"] == {"state": "suppressed", "silencedBy": [silence_id], "inhibitedBy": []}
    amtool(webhook, basic, "silence", "expire", silence_id)
    assert names() == ["DiskFull"]  # the silence ended while the alert still fires: it is active again


async def test_prometheus_alert_lands_on_the_raw_topic(webhook: Served) -> None:
    prometheus = binary("prometheus", "PROMETHEUS_BIN")
    folder = webhook.tmp / "prometheus"
    folder.mkdir()
    rule = {"alert": "AlwaysFiring", "expr": "vector(1)", "labels": {"severity": "critical"},
            "annotations": {"summary": "fires at once"}}  # fmt: skip
    (folder / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "t", "interval": "1s", "rules": [rule]}]}))
    # The manual's alerting block, with this test's key file and webhook.
    config = yaml.safe_load((EXAMPLES / "prometheus-alerting.yml").read_text())
    [manager] = config["alerting"]["alertmanagers"]
    (folder / "key").write_text(KEY)
    manager["authorization"]["credentials_file"] = str(folder / "key")
    manager["static_configs"] = [{"targets": [webhook.url.removeprefix("http://")]}]
    config |= {"global": {"evaluation_interval": "1s", "scrape_interval": "1m"}, "rule_files": ["rules.yml"]}
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    command = [
        prometheus, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{free_port()}",
        # An alert is resent every resend-delay (1m by default); the first send can find no Alertmanager yet.
        "--rules.alert.resend-delay=1s",
    ]  # fmt: skip
    with (folder / "log").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        [record] = await read(webhook.bootstrap, webhook.topics.raw, 1, timeout=30)
    finally:
        stop(process)
    assert time.monotonic() - started < 30
    assert record.key is None
    headers = {name: value.decode() for name, value in record.headers}
    assert headers["alertmesh-source"] == "prometheus"
    document = json.loads(record.value)
    assert PrometheusParser().accepts(document, headers)
    [alert] = read_alerts(record.value, headers)
    assert isinstance(alert, Alert)
    assert alert.source == "prometheus" and alert.name == "AlwaysFiring" and alert.status == "firing"
    assert alert.labels["severity"] == "critical"
