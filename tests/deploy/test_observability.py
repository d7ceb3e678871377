"""Prometheus and Grafana in compose.yaml: every scrape target is a compose service listening on that port, the
Grafana provisioning finds its data source and dashboard, and the dashboard's queries name only metrics the code
defines."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from pydantic_settings import BaseSettings

import services.shared.consumer_lag  # noqa: F401  (registers alertmesh_consumer_lag_records)
from tests.deploy.conftest import SERVICES, AlertmeshService

Services = dict[str, dict[str, Any]]
REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "alertmesh.json"
#: Metrics a query may name that the alertmesh code does not define: Prometheus's own scrape health.
PROMETHEUS_OWN = {"up"}
#: What the dashboard must show (issue 9): alert flow, latency, failures and dead letters, consumer lag.
ON_THE_DASHBOARD = {
    "alertmesh_alerts_received_total",
    "alertmesh_webhook_requests_total",
    "alertmesh_triggers_total",
    "alertmesh_workflow_starts_total",
    "alertmesh_workflow_start_duplicates_total",
    "alertmesh_workflow_results_total",
    "alertmesh_alert_to_start_seconds_bucket",
    "alertmesh_workflow_duration_seconds_bucket",
    "alertmesh_action_duration_seconds_bucket",
    "alertmesh_dead_letters_total",
    "alertmesh_publish_retries_total",
    "alertmesh_consumer_lag_records",
}


def targets() -> dict[str, str]:
    """Scrape targets (host:port, a DNS name's port for DNS discovery) by job name; one per job."""
    config = yaml.safe_load(PROMETHEUS.read_text())
    found: dict[str, list[str]] = {}
    for job in config["scrape_configs"]:
        named = found.setdefault(job["job_name"], [])
        named += [target for static in job.get("static_configs", []) for target in static["targets"]]
        for dns in job.get("dns_sd_configs", []):
            assert dns["type"] == "A", job["job_name"]
            named += [f"{name}:{dns['port']}" for name in dns["names"]]
    assert all(len(named) == 1 for named in found.values()), found
    return {job: named[0] for job, named in found.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's bind mounts as {container path: host path relative to the repository}."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            found[target] = source.removeprefix("./")
    return found


def defined_sample_names() -> set[str]:
    """Every sample name the alertmesh code can expose (a counter's ``_total``, a histogram's series)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("alertmesh_"):
            continue
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers left after removing label matchers, ranges,
    ``by``/``without`` groupings, strings and numbers, that are not function calls or keywords."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    return names - {"and", "or", "unless", "offset", "bool"}


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_alertmesh_service_is_scraped_on_its_metrics_port(
    alertmesh_service: AlertmeshService, service_settings: BaseSettings, services: Services
) -> None:
    port = getattr(service_settings, alertmesh_service.port_field)
    assert targets()[alertmesh_service.name] == f"{alertmesh_service.name}:{port}"
    # Served on every interface inside the container, or Prometheus in its own container cannot reach it.
    assert getattr(service_settings, alertmesh_service.host_field) == "0.0.0.0"
    assert "prometheus" not in services[alertmesh_service.name].get("depends_on", {})


def test_every_scrape_target_is_a_compose_service(services: Services) -> None:
    for job, target in targets().items():
        host, _, port = target.partition(":")
        assert host in services or (job == "prometheus" and host == "localhost"), f"{job}: {target}"
        assert port.isdigit(), f"{job}: {target}"


def test_temporal_serves_its_metrics_where_prometheus_scrapes(services: Services) -> None:
    endpoint = services["temporal"]["environment"]["PROMETHEUS_ENDPOINT"]
    assert endpoint == f"0.0.0.0:{targets()['temporal'].partition(':')[2]}"


def test_prometheus_reads_the_checked_in_config(services: Services) -> None:
    prometheus = services["prometheus"]
    flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    assert mounts(prometheus)[flag.partition("=")[2]] == str(PROMETHEUS.relative_to(REPO))
    assert "127.0.0.1:9090:9090" in prometheus["ports"]
    assert set(targets()) == {service.name for service in SERVICES} | {"temporal", "prometheus"}


def test_grafana_provisions_the_prometheus_data_source_and_the_dashboard(services: Services) -> None:
    grafana = services["grafana"]
    mounted = mounts(grafana)
    assert mounted["/etc/grafana/provisioning"] == "deploy/grafana/provisioning"
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    [source] = sources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "alertmesh.yaml").read_text())
    [provider] = providers["providers"]
    assert mounted[provider["options"]["path"]] == str(DASHBOARD.parent.relative_to(REPO))
    # Every panel and query uses the provisioned data source.
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for item in [panel, *panel.get("targets", [])]:
            if "datasource" in item:
                assert item["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
    assert "127.0.0.1:3000:3000" in grafana["ports"]


def test_the_dashboard_names_only_metrics_the_code_defines() -> None:
    defined = defined_sample_names()
    used: set[str] = set()
    for expr in dashboard_queries():
        names = metric_names(expr)
        assert names, expr
        unknown = names - defined - PROMETHEUS_OWN
        assert not unknown, f"{expr}: {sorted(unknown)} is not defined in services/shared/metrics.py"
        used |= names
    assert used >= ON_THE_DASHBOARD, sorted(ON_THE_DASHBOARD - used)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (le, action) (rate(alertmesh_action_duration_seconds_bucket{status="failed"}[5m]))',
            {"alertmesh_action_duration_seconds_bucket"},
        ),
        ("max by (group, topic, partition) (alertmesh_consumer_lag_records)", {"alertmesh_consumer_lag_records"}),
        ("up", {"up"}),
        ("histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__rate_interval])))", {"x_bucket"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_promtool_accepts_the_prometheus_config() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("no promtool on PATH (Debian: apt-get install prometheus): cannot validate the config with it")
    done = subprocess.run([promtool, "check", "config", str(PROMETHEUS)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
