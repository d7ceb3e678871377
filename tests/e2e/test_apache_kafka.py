"""The end-to-end path against Apache Kafka itself (Confluent's cp-kafka image, KRaft mode) started with
testcontainers, with the idempotent producer on as a real deployment runs it. Needs a Docker engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alertmesh.stack.embedded import free_port
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings
from tests.docker_engine import docker_engine_reachable
from tests.e2e.conftest import READY_TIMEOUT_S, Mesh
from tests.e2e.mesh_process import MeshProcess
from tests.e2e.test_mesh import SAMPLE, trigger_and_result

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture(scope="module")
def apache_kafka() -> Iterator[str]:
    if not docker_engine_reachable():
        pytest.skip("no Docker engine on this machine: Apache Kafka runs in a testcontainers container")
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer().with_kraft() as kafka:
        yield kafka.get_bootstrap_server()


async def test_alert_to_result_through_apache_kafka(apache_kafka: str, tmp_path: Path) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": apache_kafka, "KAFKA_ENABLE_IDEMPOTENCE": "true"}
    ports = ["--temporal-port", str(free_port()), "--temporal-ui-port", str(free_port())]
    up = MeshProcess(
        ["up", "--state-dir", str(tmp_path), *ports, "--webhook-port", str(free_port())], env, tmp_path / "up.log"
    )
    up.start()
    try:
        up.wait_for(r"ready in", timeout=READY_TIMEOUT_S)
        mesh = Mesh(
            process=up,
            kafka=KafkaSettings(bootstrap_servers=apache_kafka),
            temporal_address=f"127.0.0.1:{ports[1]}",
            webhook_url="",
            webhook_key="",
            topics=TopicSettings(),
        )
        trigger, result = await trigger_and_result(mesh, SAMPLE, "1a30ba71cca2921f")
        assert result.data.status == "completed"
        assert result.correlationid == trigger.correlationid
    finally:
        assert up.stop() == 0
