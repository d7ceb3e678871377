"""Each alertmesh service runs as compose.yaml defines it, against the real (embedded) servers.

The container's command, working directory and environment are used as written, except what only exists inside
the compose network: the Kafka and Temporal addresses point at the session's servers, the health port is a free
one (this machine is shared), Ray is local instead of ``ray://ray-head:10001``, and idempotence is off because
the embedded broker cannot do it. Compose's own health check command then has to pass, and the service has to
stop within its stop grace period on SIGTERM, as ``docker compose stop`` expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from alertmesh.stack.embedded import free_port
from services.webhook.credentials import add_key, new_key

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
COMPOSE_DEFAULT_GRACE_S = 10


async def run_kafka_init(bootstrap: str, init_env: dict[str, str]) -> None:
    """What the kafka-init container does: create the topics it names, with its partition count."""
    topics = [value for name, value in init_env.items() if name.startswith("ALERTMESH_TOPIC_")]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = int(init_env["TOPIC_PARTITIONS"])
        existing = set(await admin.list_topics())
        missing = [NewTopic(topic, partitions, 1) for topic in topics if topic not in existing]
        with contextlib.suppress(TopicAlreadyExistsError):  # another test may create one meanwhile
            if missing:
                await admin.create_topics(missing)
    finally:
        await admin.close()


def grace_seconds(service: dict[str, Any]) -> float:
    value = str(service.get("stop_grace_period", f"{COMPOSE_DEFAULT_GRACE_S}s"))
    match = re.fullmatch(r"(\d+)s", value)
    assert match, f"stop_grace_period {value!r}: use whole seconds"
    return float(match.group(1))


def container_env(compose_env: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env |= {name: value for name, value in compose_env.items() if name != "RAY_ADDRESS"}
    return env | {name: value for name, value in overrides.items() if name in compose_env or "RAY" in name}


async def healthcheck_passes(check: list[str], port: int) -> bool:
    """Compose's health check command, with the interpreter of this venv and the test's port."""
    assert check[:2] == ["CMD", "python"]
    argv = [sys.executable, *[re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", arg) for arg in check[2:]]]
    process = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.DEVNULL)
    return await process.wait() == 0


async def test_service_runs_healthy_as_compose_defines_it(
    alertmesh_service: Any,
    services: dict[str, dict[str, Any]],
    env_of: Any,
    kafka_bootstrap: str,
    temporal_server: Any,
    tmp_path: Path,
) -> None:
    definition = services[alertmesh_service.name]
    await run_kafka_init(kafka_bootstrap, env_of(services["kafka-init"]))
    port = free_port()
    port_env = f"{alertmesh_service.settings.model_config['env_prefix']}{alertmesh_service.port_field}".upper()
    env = container_env(
        env_of(definition),
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_ENABLE_IDEMPOTENCE": "false",
            "TEMPORAL_ADDRESS": temporal_server.address,
            port_env: str(port),
            "RAY_USAGE_STATS_ENABLED": "0",
        },
    )
    if alertmesh_service.name == "executor":
        env["EXECUTOR_RAY_NUM_CPUS"] = "1"  # local Ray on a 2-core machine shared with the servers
    if "WEBHOOK_CREDENTIALS_FILE" in env:
        # What compose mounts at /run/secrets: a credentials file made the documented way (`alertmesh webhook-key add`).
        secret = tmp_path / "webhook-credentials.yaml"
        add_key(secret, ["alertmanager"], new_key())
        env["WEBHOOK_CREDENTIALS_FILE"] = str(secret)
    command = [sys.executable if part == "python" else part for part in definition["command"]]
    log = (tmp_path / "service.log").open("wb")
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not await healthcheck_passes(definition["healthcheck"]["test"], port):
            assert process.poll() is None, (tmp_path / "service.log").read_text()[-3000:]
            assert time.monotonic() < deadline, f"never healthy:\n{(tmp_path / 'service.log').read_text()[-3000:]}"
            await asyncio.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = await asyncio.to_thread(process.wait, grace_seconds(definition) + 5)
        waited = time.monotonic() - started
        assert waited < grace_seconds(definition), f"took {waited:.1f}s to stop; compose would SIGKILL it"
        # uvicorn (the webhook) re-raises SIGTERM after its graceful shutdown; both mean a clean stop.
        assert code in (0, -signal.SIGTERM), (tmp_path / "service.log").read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
