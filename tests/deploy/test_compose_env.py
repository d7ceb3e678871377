"""Each alertmesh service in compose.yaml: the env it sets is what its settings read, and what it must set is set.

The settings classes ignore unknown variables (``extra="ignore"``), so a misspelt name in compose.yaml would be
silently dropped; these tests derive the accepted names from the classes themselves.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from pydantic_settings import BaseSettings

Services = dict[str, dict[str, Any]]


def test_every_env_name_is_read_by_the_service(service_env: dict[str, str], accepted_env_names: set[str]) -> None:
    unread = {name for name in service_env if name.upper() not in accepted_env_names}
    assert not unread, f"no settings field reads {sorted(unread)}"


def test_settings_introspection_sees_nested_prefixes_and_aliases(
    accepted_env_names: set[str], alertmesh_service: Any
) -> None:
    # Guards the test above against passing by accepting everything or nothing.
    assert "NOT_A_SETTING" not in accepted_env_names
    expected = {
        "ingest": {"INGEST_HEALTH_HOST", "KAFKA_BOOTSTRAP_SERVERS", "ALERTMESH_TOPIC_RAW"},
        "webhook": {"WEBHOOK_HOST", "WEBHOOK_PORT", "WEBHOOK_CREDENTIALS_FILE", "KAFKA_ENABLE_IDEMPOTENCE"},
        "orchestrator": {"ORCHESTRATOR_HEALTH_PORT", "TEMPORAL_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS"},
        "executor": {"RAY_ADDRESS", "EXECUTOR_HEALTH_HOST", "TEMPORAL_NAMESPACE"},
    }[alertmesh_service.name]
    assert expected <= accepted_env_names
    assert "INGEST_KAFKA" not in accepted_env_names, "nested settings read their own prefix"
    assert "EXECUTOR_RAY_ADDRESS" not in accepted_env_names, "an alias replaces the prefixed name"


def test_compose_env_is_valid_for_the_settings(service_settings: BaseSettings, alertmesh_service: Any) -> None:
    # Reading the settings ran every validator on compose's values; inside a container, bind every interface.
    assert getattr(service_settings, alertmesh_service.host_field) == "0.0.0.0"


BACKENDS = {
    "ingest": ("kafka",),
    "webhook": ("kafka",),
    "orchestrator": ("kafka", "temporal"),
    "executor": ("temporal",),
}


def test_the_backends_are_the_compose_services(service_settings: BaseSettings, alertmesh_service: Any) -> None:
    backends = BACKENDS[alertmesh_service.name]
    if "kafka" in backends:
        kafka = service_settings.kafka  # type: ignore[attr-defined]
        assert kafka.bootstrap_servers == "kafka:9092"
        assert kafka.enable_idempotence, "real Apache Kafka supports idempotent producers"
    if "temporal" in backends:
        assert service_settings.temporal.address == "temporal:7233"  # type: ignore[attr-defined]
    if alertmesh_service.name == "executor":
        assert service_settings.ray_address == "ray://ray-head:10001"  # type: ignore[attr-defined]


def test_healthcheck_asks_the_port_the_service_listens_on(
    services: dict[str, dict[str, Any]], service_settings: BaseSettings, alertmesh_service: Any
) -> None:
    check = services[alertmesh_service.name]["healthcheck"]["test"]
    # The images have no curl: the check is Python's urllib, which raises (exit 1) on anything but 2xx.
    assert check[:3] == ["CMD", "python", "-c"] and "urllib.request.urlopen" in check[3]
    url = re.search(r"http://[^'\"]+", check[3])
    assert url is not None
    port = getattr(service_settings, alertmesh_service.port_field)
    assert url.group(0) == f"http://127.0.0.1:{port}/healthz"


def test_command_runs_an_existing_module(services: dict[str, dict[str, Any]], alertmesh_service: Any) -> None:
    assert services[alertmesh_service.name]["command"] == ["python", "-m", alertmesh_service.module]
    spec = importlib.util.find_spec(alertmesh_service.module)
    assert spec is not None, f"{alertmesh_service.module} does not exist"
    if spec.submodule_search_locations is not None:
        # `python -m package` runs package.__main__.
        assert importlib.util.find_spec(f"{alertmesh_service.module}.__main__") is not None, "no __main__"


def test_webhook_publishes_its_listening_port(services: dict[str, dict[str, Any]], clean_settings_env: Any) -> None:
    from services.webhook.config import WebhookSettings

    for name, value in services["webhook"]["environment"].items():
        clean_settings_env.setenv(name, str(value))
    assert f"{WebhookSettings().port}:{WebhookSettings().port}" in services["webhook"]["ports"]


def test_ray_nodes_and_the_executor_agree_on_rays_own_variables(
    services: dict[str, dict[str, Any]], env_of: Any
) -> None:
    ray_env = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    for name in ("ray-head", "ray-worker"):
        assert env_of(services[name]) == ray_env, name
    executor = env_of(services["executor"])
    assert {name: executor[name] for name in ray_env} == ray_env


def test_executor_gets_its_graceful_shutdown_window(
    services: dict[str, dict[str, Any]], clean_settings_env: Any, env_of: Any
) -> None:
    from services.executor.config import ExecutorSettings

    for name, value in env_of(services["executor"]).items():
        clean_settings_env.setenv(name, value)
    grace = services["executor"]["stop_grace_period"]
    assert grace.endswith("s") and float(grace[:-1]) > ExecutorSettings().graceful_shutdown_s + 5
