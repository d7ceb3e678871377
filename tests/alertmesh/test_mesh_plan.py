"""What ``alertmesh up`` plans to run, for the embedded default and for existing servers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from alertmesh.stack.mesh import (
    DEMO_SOURCES,
    MeshSettings,
    ensure_webhook_key,
    plan,
    prepare_state_dir,
    webhook_usage,
)
from services.webhook.credentials import hash_key, load_credentials


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
    # The webhook's metrics (what `status` and the state file read) are on its metrics port, not the public one.
    metrics_port = mesh.services[1].env["WEBHOOK_METRICS_PORT"]
    assert metrics_port != "18080" and mesh.http_urls["webhook"] == f"http://127.0.0.1:{metrics_port}"


def test_up_makes_a_private_state_dir_and_a_hashed_demo_key(tmp_path: Path) -> None:
    settings = MeshSettings(state_dir=tmp_path / "state")
    prepare_state_dir(settings.state_dir)
    assert stat.S_IMODE(settings.state_dir.stat().st_mode) == 0o700
    key = ensure_webhook_key(settings)
    assert key.new_key is not None and key.key_file is not None
    for path in (key.credentials_file, key.key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert key.key_file.read_text().strip() == key.new_key
    assert key.new_key not in key.credentials_file.read_text(), "only the hash goes into the credentials file"
    # The webhook accepts the key for the demo sources: the file is valid and holds its digest.
    loaded = load_credentials(key.credentials_file)
    assert set(loaded) == set(DEMO_SOURCES)
    assert loaded["alertmanager"].key_digests == (bytes.fromhex(hash_key(key.new_key)),)
    mesh = plan(settings)
    assert all(s.env["WEBHOOK_CREDENTIALS_FILE"] == str(key.credentials_file) for s in mesh.services)
    usage = "\n".join(webhook_usage(mesh, key))
    assert f"Authorization: Bearer {key.new_key}" in usage and "/v1/alerts/alertmanager" in usage


def test_a_second_up_keeps_the_key_and_does_not_print_it(tmp_path: Path) -> None:
    settings = MeshSettings(state_dir=tmp_path)
    first = ensure_webhook_key(settings)
    before = first.credentials_file.read_bytes()
    again = ensure_webhook_key(settings)
    assert again.new_key is None
    assert again.credentials_file.read_bytes() == before
    usage = "\n".join(webhook_usage(plan(settings), again))
    assert first.new_key is not None and first.new_key not in usage
    assert f"$(cat {first.key_file})" in usage and "unchanged" in usage


def test_a_configured_credentials_file_is_used_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "mine.yaml"
    own.write_text("sources: {}\n")
    monkeypatch.setenv("WEBHOOK_CREDENTIALS_FILE", str(own))
    settings = MeshSettings(state_dir=tmp_path / "state")
    key = ensure_webhook_key(settings)
    assert (key.credentials_file, key.new_key) == (own.resolve(), None)
    assert own.read_text() == "sources: {}\n"
    assert not (tmp_path / "state" / "webhook-demo-key").exists()
    assert plan(settings).services[1].env["WEBHOOK_CREDENTIALS_FILE"] == str(own.resolve())
