"""compose.yaml's shape: services, health checks, start order, pinned images, restarts, volumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Services = dict[str, dict[str, Any]]
Layout = dict[str, tuple[str, ...]]
REPO = Path(__file__).resolve().parents[2]
CONDITIONS = {"service_healthy", "service_completed_successfully"}


def test_uses_the_compose_spec_without_a_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the compose spec dropped `version:`; current Compose warns about it"


def test_every_expected_service_exists(services: Services, layout: Layout) -> None:
    assert set(layout["all"]) <= set(services), f"missing: {sorted(set(layout['all']) - set(services))}"


def test_every_long_running_service_has_a_healthcheck(services: Services, layout: Layout) -> None:
    for name in layout["long_running"]:
        check = services[name].get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_long_running_services_restart_and_one_shots_do_not(services: Services, layout: Layout) -> None:
    for name in layout["long_running"]:
        assert services[name].get("restart") == "unless-stopped", name
    for name in layout["one_shot"]:
        # A restarting one-shot would never count as completed for service_completed_successfully.
        assert services[name].get("restart", "no") == "no", name


def test_every_dependency_has_a_condition_on_an_existing_service(services: Services) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: list-style depends_on waits for nothing but a start"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition")
            assert condition in CONDITIONS, f"{name} -> {target}: condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has no health check"


def test_services_wait_for_what_they_use(services: Services) -> None:
    def waits(name: str) -> dict[str, str]:
        return {target: spec["condition"] for target, spec in services[name].get("depends_on", {}).items()}

    kafka = {"kafka": "service_healthy", "kafka-init": "service_completed_successfully"}
    temporal = {"temporal": "service_healthy"}
    ray = {"ray-head": "service_healthy"}
    assert waits("ingest").items() >= kafka.items()
    assert waits("webhook").items() >= kafka.items()
    assert waits("orchestrator").items() >= (kafka | temporal).items()
    assert waits("executor").items() >= (temporal | ray).items()
    assert waits("ray-worker").items() >= ray.items()
    assert waits("kafka-init") == {"kafka": "service_healthy"}
    assert waits("temporal") == {"postgresql": "service_healthy"}


def test_images_are_pinned(services: Services) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service.get("image", "")
        assert image, f"{name} has neither image nor build"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"


def test_pinned_versions(services: Services) -> None:
    assert services["kafka"]["image"].startswith("apache/kafka:3.")
    assert services["postgresql"]["image"].startswith("postgres:16")
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:1.")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:2.")


def test_stateful_services_keep_their_data_in_named_volumes(compose: dict[str, Any], services: Services) -> None:
    for name, path in (("postgresql", "/var/lib/postgresql/data"), ("kafka", "/var/lib/kafka/data")):
        mounts = [volume.split(":") for volume in services[name]["volumes"]]
        sources = [source for source, target, *_ in mounts if target == path]
        assert sources, f"{name} does not persist {path}"
        assert sources[0] in compose["volumes"], f"{name}: {sources[0]} is not a named volume"


def test_ray_nodes_run_the_head_and_join_it(services: Services) -> None:
    head = services["ray-head"]["command"]
    assert "ray start --head --block" in head and "--port=6379" in head
    assert "--ray-client-server-port=10001" in head and "--dashboard-host=0.0.0.0" in head
    assert "ray status" in str(services["ray-head"]["healthcheck"]["test"])
    worker = services["ray-worker"]["command"]
    assert "ray start --address=ray-head:6379 --block" in worker
    assert "container_name" not in services["ray-worker"], "a fixed container name would prevent scaling"


def test_scalable_services_have_no_fixed_names_or_host_ports(services: Services) -> None:
    for name in ("ingest", "orchestrator", "executor", "ray-worker"):
        assert "container_name" not in services[name], name
        assert "ports" not in services[name], f"{name}: a published port would prevent --scale"


def test_only_the_webhook_and_the_uis_on_loopback_are_published(services: Services) -> None:
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published == {
        "webhook": ["8080:8080"],
        "temporal-ui": ["127.0.0.1:8233:8080"],
        "prometheus": ["127.0.0.1:9090:9090"],
        "grafana": ["127.0.0.1:3000:3000"],
    }
    assert services["temporal-ui"]["environment"]["TEMPORAL_UI_PORT"] == 8080
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_the_host_access_overlay_binds_loopback_only() -> None:
    overlay = yaml.safe_load((REPO / "deploy" / "compose.host-access.yaml").read_text())["services"]
    ports = {name: service["ports"] for name, service in overlay.items()}
    assert ports == {"kafka": ["127.0.0.1:9094:9094"], "temporal": ["127.0.0.1:7233:7233"]}
    assert all(set(service) == {"ports"} for service in overlay.values()), "the overlay only publishes ports"


def test_the_webhook_reads_its_credentials_from_a_read_only_secret(compose: dict[str, Any], services: Services) -> None:
    webhook = services["webhook"]
    [mounted] = webhook["secrets"]
    name = mounted if isinstance(mounted, str) else mounted["source"]
    target = name if isinstance(mounted, str) else mounted.get("target", name)
    # Compose mounts secrets read-only at /run/secrets/<target>; the setting must name exactly that file.
    assert webhook["environment"]["WEBHOOK_CREDENTIALS_FILE"] == f"/run/secrets/{target}"
    assert "WEBHOOK_ALLOW_UNAUTHENTICATED" not in webhook["environment"]
    source = compose["secrets"][name]["file"]
    assert source == "./deploy/webhook-credentials.yaml"
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert source.removeprefix("./") in ignored, "a real credentials file must never be committed"
    # .dockerignore is an allow-list ("*", then "!what is let in"): no rule may let deploy/ into an image. (The
    # file never lists "deploy/" itself, so checking that it does not held whatever the file said.)
    allowed = [line[1:] for line in (REPO / ".dockerignore").read_text().split() if line.startswith("!")]
    assert not [rule for rule in allowed if rule.strip("/").split("/")[0] in ("deploy", "*", "**")], allowed
