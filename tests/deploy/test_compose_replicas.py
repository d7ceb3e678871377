"""compose.yaml runs several replicas where the mesh allows them, and says so in the file: consumers and
activity workers scaled, the webhook not (it holds a host port), a Ray worker node beside the head."""

from __future__ import annotations

from typing import Any

import pytest

Services = dict[str, dict[str, Any]]
SCALED = ("ingest", "orchestrator", "executor")


def replicas(service: dict[str, Any]) -> int:
    return int(service.get("deploy", {}).get("replicas", 1))


@pytest.mark.parametrize("name", SCALED)
def test_consumers_and_activity_workers_run_two_replicas_that_can_coexist(services: Services, name: str) -> None:
    service = services[name]
    assert replicas(service) >= 2, f"{name} shows a single replica"
    # Two containers cannot share a name or a host port: either would make `deploy.replicas` fail to start.
    assert "container_name" not in service and "ports" not in service, name
    assert "hostname" not in service, name


@pytest.mark.parametrize("name", SCALED[:2])
def test_every_replica_joins_its_services_one_consumer_group(services: Services, env_of: Any, name: str) -> None:
    # A group id per container would make each replica read every partition: each alert handled twice.
    assert not any(key.endswith("GROUP_ID") for key in env_of(services[name])), name


def test_every_consumer_replica_gets_partitions(services: Services, env_of: Any) -> None:
    partitions = int(env_of(services["kafka-init"])["TOPIC_PARTITIONS"])
    assert all(partitions >= replicas(services[name]) for name in SCALED[:2]), "a replica without a partition idles"


def test_the_webhook_holding_a_host_port_stays_single(services: Services) -> None:
    webhook = services["webhook"]
    assert webhook.get("ports") and replicas(webhook) == 1


def test_a_ray_worker_node_joins_the_head_the_executors_use(services: Services, env_of: Any) -> None:
    worker = services["ray-worker"]
    assert replicas(worker) >= 1
    assert "--address=ray-head:6379" in worker["command"] and "--head" not in worker["command"]
    assert "ray-head" in worker["depends_on"]
    assert env_of(services["executor"])["RAY_ADDRESS"] == "ray://ray-head:10001"
