"""What ``alertmesh up`` plans to run, for the embedded default and for existing servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertmesh.mesh import MeshSettings, plan


def test_the_embedded_default_starts_both_servers_then_four_services(tmp_path: Path) -> None:
    mesh = plan(MeshSettings(state_dir=tmp_path))
    assert [p.name for p in mesh.servers] == ["kafka", "temporal"]
    assert [p.name for p in mesh.services] == ["ingest", "webhook", "orchestrator", "executor"]
    assert str(tmp_path.resolve() / "temporal.db") in mesh.servers[1].command
    env = mesh.services[0].env
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert env["TEMPORAL_ADDRESS"] == "127.0.0.1:7233"
    assert Path(env["INGEST_ROUTING_FILE"]).is_absolute()  # services may run from another directory
    assert mesh.services[3].command[-1] == "services.executor"
    assert "Webhook          http://127.0.0.1:8080/v1/alerts/{source}" in mesh.describe()


def test_existing_servers_are_used_and_not_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.internal:9093")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("RAY_ADDRESS", "ray://ray.internal:10001")
    mesh = plan(MeshSettings())
    assert mesh.servers == []
    assert mesh.services[0].env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka.internal:9093"
    assert mesh.temporal_ui is None
    assert mesh.ray == "ray://ray.internal:10001"


def test_ports_given_on_the_command_line_win(tmp_path: Path) -> None:
    mesh = plan(MeshSettings(state_dir=tmp_path, kafka_port=19092, temporal_port=17233, webhook_port=18080))
    assert mesh.kafka_bootstrap == "127.0.0.1:19092"
    assert "17233" in mesh.servers[1].command
    assert mesh.services[1].env["WEBHOOK_PORT"] == "18080"
