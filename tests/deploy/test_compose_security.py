"""compose.yaml's security: who can reach whom (networks), and passwords only from secret files.

Two containers reach each other exactly when they share a network, so the reachability matrix is computed from
the ``networks:`` of each service and checked two ways: against the whole expected matrix (a new path is a
decision, made here), and against what each service's own configuration says it connects to (a service cut off
from a server it uses would fail at run time).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml

Services = dict[str, dict[str, Any]]
EnvOf = Callable[[dict[str, Any]], dict[str, str]]
REPO = Path(__file__).resolve().parents[2]

#: Every pair of services that may reach each other (both ways: a shared network has no direction).
REACHABLE = {
    frozenset(pair)
    for pair in [
        # The internet-facing webhook: Kafka to write alerts.raw, Prometheus to be scraped. Nothing else.
        ("webhook", "kafka"),
        ("webhook", "prometheus"),
        # Kafka's clients inside the mesh.
        *[("kafka", name) for name in ("kafka-init", "ingest", "orchestrator", "results", "prometheus")],
        ("kafka-init", "ingest"),
        ("kafka-init", "orchestrator"),
        ("kafka-init", "results"),
        ("kafka-init", "prometheus"),
        ("ingest", "orchestrator"),
        ("ingest", "results"),
        ("ingest", "prometheus"),
        ("orchestrator", "results"),
        ("orchestrator", "prometheus"),
        ("results", "prometheus"),
        # Temporal, its database and UI, and the services that use it.
        *[
            pair
            for pair in combinations(
                ("temporal", "postgresql", "temporal-ui", "orchestrator", "executor", "prometheus"), 2
            )
        ],
        # The Ray cluster: its nodes and the executor only.
        ("ray-head", "ray-worker"),
        ("ray-head", "executor"),
        ("ray-worker", "executor"),
        # Grafana reads Prometheus.
        ("grafana", "prometheus"),
    ]
}
#: What must never be reachable from the internet-facing webhook, whatever else changes.
NEVER_FROM_THE_WEBHOOK = ("ray-head", "ray-worker", "temporal", "temporal-ui", "postgresql", "executor", "grafana")
#: Names of variables that hold a password or a secret; the ``_FILE`` forms point at a file instead.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_KEY|CREDENTIAL", re.IGNORECASE)


def networks_of(service: dict[str, Any]) -> set[str]:
    """A service's networks, in either compose syntax; a service naming none is on ``default``."""
    networks = service.get("networks")
    if networks is None:
        return {"default"}
    return set(networks) if isinstance(networks, (list, dict)) else {str(networks)}


def reachability(services: Services) -> set[frozenset[str]]:
    """Every pair of distinct services that share a network."""
    return {
        frozenset((a, b))
        for a, b in combinations(sorted(services), 2)
        if networks_of(services[a]) & networks_of(services[b])
    }


def reachable_from(services: Services, name: str) -> set[str]:
    return {other for pair in reachability(services) if name in pair for other in pair if other != name}


def test_every_service_names_its_networks_and_every_network_is_declared(
    compose: dict[str, Any], services: Services
) -> None:
    declared = set(compose.get("networks") or {})
    for name, service in services.items():
        assert "networks" in service, f"{name} would join the default network, shared with every other such service"
        assert networks_of(service) <= declared, f"{name}: undeclared {sorted(networks_of(service) - declared)}"
        assert service.get("network_mode") is None, f"{name}: network_mode bypasses the networks"
    assert "default" not in declared


def test_the_reachability_matrix_is_the_intended_one(services: Services) -> None:
    found = reachability(services)
    extra = sorted(tuple(sorted(pair)) for pair in found - REACHABLE)
    missing = sorted(tuple(sorted(pair)) for pair in REACHABLE - found)
    assert not extra, f"paths nobody decided on: {extra}"
    assert not missing, f"paths the mesh needs are cut: {missing}"


def test_the_webhook_reaches_kafka_and_its_scraper_only(services: Services) -> None:
    reached = reachable_from(services, "webhook")
    assert reached == {"kafka", "prometheus"}
    assert not reached & set(NEVER_FROM_THE_WEBHOOK)


def test_ray_is_reached_only_by_the_executor(services: Services) -> None:
    for node in ("ray-head", "ray-worker"):
        assert reachable_from(services, node) - {"ray-head", "ray-worker"} == {"executor"}, node


def test_postgresql_is_reached_only_from_temporals_network(services: Services) -> None:
    assert reachable_from(services, "postgresql") <= {
        "temporal",
        "temporal-ui",
        "orchestrator",
        "executor",
        "prometheus",
    }
    assert "temporal" in reachable_from(services, "postgresql")


def host_of(address: str) -> str:
    """``kafka:9092``, ``ray://ray-head:10001``, ``http://prometheus:9090`` -> the host name."""
    address = address.split("://", 1)[-1]
    return address.rsplit(":", 1)[0] if ":" in address else address.split("/", 1)[0]


def used_servers(name: str, service: dict[str, Any], env: dict[str, str]) -> set[str]:
    """The compose services ``service``'s own configuration connects to."""
    used: set[str] = set()
    for variable in ("KAFKA_BOOTSTRAP_SERVERS", "TEMPORAL_ADDRESS", "RAY_ADDRESS", "POSTGRES_SEEDS"):
        if env.get(variable):
            used |= {host_of(address) for address in env[variable].split(",")}
    command = service.get("command")
    text = command if isinstance(command, str) else " ".join(map(str, command or []))
    used |= {host_of(address) for address in re.findall(r"--(?:address|bootstrap-server)[= ]([\w.:/-]+)", text)}
    used.discard(name)
    return used


def test_every_service_reaches_the_servers_its_configuration_names(services: Services, env_of: EnvOf) -> None:
    for name, service in services.items():
        needed = used_servers(name, service, env_of(service))
        assert needed <= set(services), f"{name} names servers compose does not run: {needed - set(services)}"
        assert needed <= reachable_from(services, name), (
            f"{name} cannot reach {needed - reachable_from(services, name)}"
        )


def test_prometheus_and_grafana_reach_what_they_read(services: Services) -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets: set[str] = set()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            targets |= set(sd["names"])
        for static in job.get("static_configs", []):
            targets |= {host_of(target) for target in static["targets"]}
    targets.discard("localhost")
    assert targets <= reachable_from(services, "prometheus"), targets - reachable_from(services, "prometheus")
    sources = yaml.safe_load(
        (REPO / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    for source in sources["datasources"]:
        assert host_of(source["url"]) in reachable_from(services, "grafana")


def secret_target(mounted: str | dict[str, Any]) -> tuple[str, str]:
    """(secret name, path in the container) of one entry of a service's ``secrets:``."""
    if isinstance(mounted, str):
        return mounted, f"/run/secrets/{mounted}"
    target = str(mounted.get("target", mounted["source"]))
    return str(mounted["source"]), target if target.startswith("/") else f"/run/secrets/{target}"


def test_no_password_or_secret_is_given_as_a_value(services: Services) -> None:
    for name, service in services.items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
        for variable, value in env.items():
            if not SECRET_NAME.search(variable) or variable.upper().endswith("_FILE"):
                continue
            assert variable == "WEBHOOK_CREDENTIALS_FILE" or value in (None, ""), (
                f"{name}: {variable} is given a value ({value!r}); read it from a secret file instead"
            )
        # Nor through the shell's variables with a built-in fallback (${GRAFANA_ADMIN_PASSWORD:-admin}).
        text = yaml.safe_dump(service)
        for variable, default in re.findall(r"\$\{(\w+):?-([^}]*)\}", text):
            assert not SECRET_NAME.search(variable), f"{name}: ${{{variable}}} falls back to {default!r}"


def test_password_files_are_compose_secrets_mounted_where_the_variable_points(
    compose: dict[str, Any], services: Services, env_of: EnvOf
) -> None:
    declared = compose["secrets"]
    for name, service in services.items():
        mounted = dict(secret_target(item) for item in service.get("secrets", []))
        for variable, value in env_of(service).items():
            if SECRET_NAME.search(variable) and variable.upper().endswith("_FILE"):
                assert value in mounted.values(), f"{name}: {variable}={value} is not one of its secrets"
        for secret in mounted:
            assert secret in declared, f"{name} mounts undeclared secret {secret}"
            source = declared[secret].get("file")
            assert source, f"{secret}: not a file on the host"


def test_postgres_and_temporal_read_the_same_password_file(services: Services, env_of: EnvOf) -> None:
    postgres = env_of(services["postgresql"])
    path = postgres["POSTGRES_PASSWORD_FILE"]
    [(secret, target)] = [secret_target(item) for item in services["postgresql"]["secrets"]]
    assert target == path
    temporal = services["temporal"]
    assert (secret, target) in [secret_target(item) for item in temporal["secrets"]]
    script = temporal["command"][0]
    assert temporal["entrypoint"] == ["/bin/sh", "-ec"]
    # auto-setup reads POSTGRES_PWD only: it is exported from the file, then the image's own entrypoint runs.
    assert f'POSTGRES_PWD="$$(cat {target})"' in script and "export POSTGRES_PWD" in script
    assert script.strip().splitlines()[-1] == "exec /etc/temporal/entrypoint.sh autosetup"


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell on this machine to parse the script")
def test_temporals_start_script_is_valid_shell(services: Services) -> None:
    script = services["temporal"]["command"][0].replace("$$", "$")
    result = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_grafana_has_no_anonymous_access_and_its_admin_password_is_a_file(services: Services, env_of: EnvOf) -> None:
    env = env_of(services["grafana"])
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] in {
        target for _, target in (secret_target(item) for item in services["grafana"]["secrets"])
    }


def test_secret_files_stay_out_of_git_and_images(compose: dict[str, Any]) -> None:
    ignored = (REPO / ".gitignore").read_text().splitlines()
    for secret in compose["secrets"].values():
        source = secret["file"].removeprefix("./")
        assert source in ignored or any(rule.endswith("/") and source.startswith(rule) for rule in ignored), (
            f"{source} is not git-ignored"
        )
        assert source.startswith("deploy/"), f"{source}: keep secrets under deploy/, which .dockerignore leaves out"
    # .dockerignore is an allow-list: nothing under deploy/ may be let into the build context.
    allowed = [line[1:] for line in (REPO / ".dockerignore").read_text().split() if line.startswith("!")]
    assert not [rule for rule in allowed if rule.startswith("deploy")], "nor baked into an image"


def test_the_readme_says_how_to_create_every_secret_file(compose: dict[str, Any]) -> None:
    readme = (REPO / "deploy" / "README.md").read_text()
    for secret in compose["secrets"].values():
        assert secret["file"].removeprefix("./") in readme, (
            f"deploy/README.md does not say how to make {secret['file']}"
        )
