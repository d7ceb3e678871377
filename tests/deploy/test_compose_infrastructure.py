"""The infrastructure in compose.yaml: Kafka in KRaft mode and its topics, Temporal on PostgreSQL."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.shared.topics import TopicSettings

Services = dict[str, dict[str, Any]]
EnvOf = Callable[[dict[str, Any]], dict[str, str]]
REPO = Path(__file__).resolve().parents[2]


def listeners(value: str) -> dict[str, str]:
    """``NAME://host:port,...`` as {NAME: "host:port"}."""
    return dict(item.split("://", 1) for item in value.split(","))


def test_kafka_runs_kraft_single_node(services: Services, env_of: EnvOf) -> None:
    env = env_of(services["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners(env["KAFKA_LISTENERS"])
    for factor in ("OFFSETS_TOPIC_REPLICATION_FACTOR", "TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[f"KAFKA_{factor}"] == "1", "one broker cannot hold more replicas"
    # kafka-storage format only accepts a base64url-encoded 16-byte UUID.
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16


def port(address: str) -> str:
    return address.rsplit(":", 1)[1]


def test_kafka_advertises_each_listener_it_binds(services: Services, env_of: EnvOf) -> None:
    env = env_of(services["kafka"])
    bound, advertised = listeners(env["KAFKA_LISTENERS"]), listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(bound) == set(protocols)
    assert set(advertised) <= set(bound)
    for name, address in advertised.items():
        assert port(address) == port(bound[name]), name
    # compose.yaml publishes no Kafka port; the host-access overlay publishes the host listener on the port it
    # advertises, on loopback only.
    assert "ports" not in services["kafka"]
    overlay = yaml.safe_load((REPO / "deploy" / "compose.host-access.yaml").read_text())["services"]
    assert f"127.0.0.1:{port(advertised['EXTERNAL'])}:{port(bound['EXTERNAL'])}" in overlay["kafka"]["ports"]


def test_services_bootstrap_from_the_internal_listener(services: Services, env_of: EnvOf) -> None:
    advertised = listeners(env_of(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"])
    internal = advertised[env_of(services["kafka"])["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    for name in ("ingest", "webhook", "orchestrator"):
        assert env_of(services[name])["KAFKA_BOOTSTRAP_SERVERS"] == internal, name
    assert f"--bootstrap-server {internal}" in services["kafka-init"]["command"][0]


def test_kafka_init_creates_exactly_the_default_topics(
    services: Services, env_of: EnvOf, clean_settings_env: pytest.MonkeyPatch
) -> None:
    init_env = env_of(services["kafka-init"])
    created = {name: value for name, value in init_env.items() if name.startswith("ALERTMESH_TOPIC_")}
    defaults = TopicSettings().model_dump()
    assert created == {f"ALERTMESH_TOPIC_{field.upper()}": value for field, value in defaults.items()}
    script = services["kafka-init"]["command"][0]
    for name in created:
        assert f"$${{{name}}}" in script, f"kafka-init does not create {name}"
    assert int(init_env["TOPIC_PARTITIONS"]) > 1, "one partition would cap each consumer group at one member"
    assert "--replication-factor 1" in script and "--if-not-exists" in script


def test_services_use_the_topics_kafka_init_creates(services: Services, env_of: EnvOf) -> None:
    created = {k: v for k, v in env_of(services["kafka-init"]).items() if k.startswith("ALERTMESH_TOPIC_")}
    for name in ("ingest", "webhook", "orchestrator"):
        used = {k: v for k, v in env_of(services[name]).items() if k.startswith("ALERTMESH_TOPIC_")}
        assert used == created, name


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell on this machine to parse the script")
def test_kafka_init_script_is_valid_shell(services: Services) -> None:
    assert services["kafka-init"]["entrypoint"][:2] == ["/bin/sh", "-ec"]
    # Compose turns $$ into $ before the container's shell sees the script.
    script = services["kafka-init"]["command"][0].replace("$$", "$")
    result = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_temporal_uses_postgres_and_checks_its_namespace(services: Services, env_of: EnvOf) -> None:
    temporal, postgres = env_of(services["temporal"]), env_of(services["postgresql"])
    assert temporal["DB"] == "postgres12" and temporal["POSTGRES_SEEDS"] == "postgresql"
    assert temporal["POSTGRES_USER"] == postgres["POSTGRES_USER"]
    # The password is the same secret file for both (tests/deploy/test_compose_security.py); never an env value.
    assert "POSTGRES_PWD" not in temporal and "POSTGRES_PASSWORD" not in postgres
    check = services["temporal"]["healthcheck"]["test"]
    assert "temporal" in check and "default" in check, "healthy must mean the services' namespace exists"
    assert "pg_isready" in str(services["postgresql"]["healthcheck"]["test"])


def test_temporal_dynamic_config_is_mounted_and_valid(services: Services, env_of: EnvOf) -> None:
    mount = next(v for v in services["temporal"]["volumes"] if v.startswith("./deploy/"))
    source, target, *_ = mount.split(":")
    config_path = env_of(services["temporal"])["DYNAMIC_CONFIG_FILE_PATH"]
    # The path is relative to the image's /etc/temporal; the mount replaces config/dynamicconfig.
    assert f"/etc/temporal/{config_path}".startswith(target + "/")
    config = yaml.safe_load((REPO / source / Path(config_path).name).read_text())
    assert config, "empty dynamic config"
    for key, values in config.items():
        assert isinstance(values, list) and all("value" in entry for entry in values), key
    # Workflow ids are idempotency keys; the SQL visibility schema stores at most 255 characters.
    assert config["limit.maxIDLength"][0]["value"] <= 255
