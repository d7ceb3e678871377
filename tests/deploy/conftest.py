"""What the deployment tests know: compose.yaml, the Dockerfile, and which settings class each service reads."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.executor.config import ExecutorSettings
from services.ingest.config import IngestSettings
from services.orchestrator.config import OrchestratorSettings
from services.webhook.config import WebhookSettings

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AlertmeshService:
    """A compose service running one alertmesh module, configured by one settings class."""

    name: str
    module: str
    settings: type[BaseSettings]
    extras: str
    host_field: str
    port_field: str


SERVICES = (
    AlertmeshService("ingest", "services.ingest", IngestSettings, "ingest", "health_host", "health_port"),
    # Its metrics and the health check are on its metrics port; its public port serves senders only.
    AlertmeshService("webhook", "services.webhook", WebhookSettings, "webhook", "metrics_host", "metrics_port"),
    AlertmeshService(
        "orchestrator", "services.orchestrator", OrchestratorSettings, "orchestrator", "health_host", "health_port"
    ),
    AlertmeshService("executor", "services.executor", ExecutorSettings, "executor", "health_host", "health_port"),
)
RAY_NODES = ("ray-head", "ray-worker")
INFRASTRUCTURE = ("kafka", "kafka-init", "postgresql", "temporal", "temporal-ui")
#: Metrics and dashboards (deploy/prometheus, deploy/grafana).
OBSERVABILITY = ("prometheus", "grafana")
ONE_SHOT = ("kafka-init",)

# Variables set on alertmesh containers that no alertmesh settings class reads, each for a stated reason.
FOREIGN_ENV = {
    "RAY_USAGE_STATS_ENABLED": "Ray's own switch; there may be no internet, so no usage reporting",
    "RAY_AUTH_MODE": "Ray's own switch; a Ray client must use the same auth mode as the cluster",
    "PYTHONUNBUFFERED": "logs reach `docker compose logs` as they happen",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "OpenTelemetry's standard variable, read by services.shared.tracing",
    "ALERTMESH_LOG_FORMAT": "read by services.shared.logs in every service, before any settings class",
}

# Env prefixes of every alertmesh settings class, cleared before a test reads settings from compose's env.
SETTINGS_PREFIXES = ("KAFKA_", "ALERTMESH_TOPIC_", "TEMPORAL_", "INGEST_", "WEBHOOK_", "ORCHESTRATOR_", "EXECUTOR_")


def settings_env_names(settings: type[BaseSettings]) -> set[str]:
    """Every env name ``settings`` reads: prefix + field, validation aliases, and nested settings' own names."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseSettings):
            # A nested BaseSettings built by default_factory reads its own prefix, not ours.
            names |= settings_env_names(nested)
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
        elif isinstance(field.validation_alias, AliasChoices):
            names |= {choice for choice in field.validation_alias.choices if isinstance(choice, str)}
        else:
            names.add(prefix + field_name)
    # pydantic-settings matches env names case-insensitively unless told otherwise.
    return {name.upper() for name in names}


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's environment as strings, whichever of the two compose syntaxes it uses."""
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): unset_default(str(value)) for key, value in env.items()}


def unset_default(value: str) -> str:
    """``value`` as compose interpolates it when the variables it names are unset: ``${NAME:-default}`` gives
    ``default`` (``$$`` stays, compose's escape for the container's own shell)."""
    return re.sub(r"(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", value)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests asking for ``alertmesh_service`` run once per alertmesh service in compose.yaml."""
    if "alertmesh_service" in metafunc.fixturenames:
        metafunc.parametrize("alertmesh_service", SERVICES, ids=[service.name for service in SERVICES])


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


@pytest.fixture(scope="session")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


@pytest.fixture
def clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No alertmesh settings variables from the test process's own environment leak into a settings read."""
    for name in list(os.environ):
        if name.upper().startswith(SETTINGS_PREFIXES) or name.upper() == "RAY_ADDRESS":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture(scope="session")
def env_of() -> Callable[[dict[str, Any]], dict[str, str]]:
    return environment


@pytest.fixture
def service_env(services: dict[str, dict[str, Any]], alertmesh_service: AlertmeshService) -> dict[str, str]:
    return environment(services[alertmesh_service.name])


@pytest.fixture
def service_settings(
    clean_settings_env: pytest.MonkeyPatch, service_env: dict[str, str], alertmesh_service: AlertmeshService
) -> BaseSettings:
    """The service's settings exactly as its container would read them from compose's environment."""
    for name, value in service_env.items():
        clean_settings_env.setenv(name, value)
    return alertmesh_service.settings()


@pytest.fixture(scope="session")
def layout() -> dict[str, tuple[str, ...]]:
    """Service names by role: what compose.yaml must define."""
    alertmesh = tuple(service.name for service in SERVICES)
    everything = (*INFRASTRUCTURE, *OBSERVABILITY, *RAY_NODES, *alertmesh)
    return {
        "alertmesh": alertmesh,
        "ray": RAY_NODES,
        "infrastructure": INFRASTRUCTURE,
        "observability": OBSERVABILITY,
        "one_shot": ONE_SHOT,
        "long_running": tuple(name for name in everything if name not in ONE_SHOT),
        "all": everything,
    }


@pytest.fixture
def accepted_env_names(alertmesh_service: AlertmeshService) -> set[str]:
    """Env names the service reads, plus the few foreign ones allowed on its container."""
    return settings_env_names(alertmesh_service.settings) | set(FOREIGN_ENV)
