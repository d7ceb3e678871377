"""One whole mesh (``alertmesh up``: embedded broker, Temporal with SQLite state, all four services, local Ray)
started once for the end-to-end tests, on free ports so it never collides with a mesh a developer is running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from temporalio.client import Client

from alertmesh.stack.embedded import free_port
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings
from tests.e2e.mesh_process import MeshProcess

READY_TIMEOUT_S = 240


@dataclass(frozen=True)
class Mesh:
    process: MeshProcess
    kafka: KafkaSettings
    temporal_address: str
    webhook_url: str
    #: The demo key ``up`` generated and printed (hashed in the state dir's webhook credentials file).
    webhook_key: str
    topics: TopicSettings
    #: ``GET /metrics`` of each service by name (ingest, webhook, orchestrator, executor).
    metrics_urls: dict[str, str] = field(default_factory=dict)


def mesh_ports() -> dict[str, str]:
    names = ("--kafka-port", "--temporal-port", "--temporal-ui-port", "--webhook-port")
    return {name: str(free_port()) for name in names}


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    state = tmp_path_factory.mktemp("mesh")
    ports = mesh_ports()
    args = ["up", "--state-dir", str(state), *[x for pair in ports.items() for x in pair]]
    # Health ports chosen here rather than by `up`, so the tests know where each service's /metrics is.
    health = {name: str(free_port()) for name in ("ingest", "orchestrator", "executor")}
    webhook_metrics = str(free_port())  # the webhook's metrics are on a port of their own, not the public one
    env = {f"{name.upper()}_HEALTH_PORT": port for name, port in health.items()} | {
        "WEBHOOK_METRICS_PORT": webhook_metrics
    }
    process = MeshProcess(args, env=env, log=state / "up.log").start()
    try:
        process.wait_for(r"alertmesh\s+\| ready in", timeout=READY_TIMEOUT_S)
        key = process.wait_for(r"Webhook key\s+(\S+)\s+\(new;", timeout=5).group(1)
        yield Mesh(
            process=process,
            kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{ports['--kafka-port']}"),
            temporal_address=f"127.0.0.1:{ports['--temporal-port']}",
            webhook_url=f"http://127.0.0.1:{ports['--webhook-port']}",
            webhook_key=key,
            topics=TopicSettings(),
            metrics_urls={name: f"http://127.0.0.1:{port}/metrics" for name, port in health.items()}
            | {"webhook": f"http://127.0.0.1:{webhook_metrics}/metrics"},
        )
    finally:
        process.stop()


@pytest.fixture(scope="session")
async def temporal_client(mesh: Mesh) -> AsyncIterator[Client]:
    yield await TemporalSettings(address=mesh.temporal_address).connect()
