"""``alertmesh up --replicas`` and ``--ray-nodes``: what is refused, and what each replica and Ray node gets."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from alertmesh.stack.mesh import MeshSettings, plan, prepare_private_dirs, ray_cluster_dir, ray_token_file
from alertmesh.stack.replicas import MAX_REPLICAS, ReplicasError, parse_replicas, replica_name, service_of
from alertmesh.stack.state import current_state

REPO = Path(__file__).resolve().parents[2]
ALL_TWO = {"ingest": 2, "webhook": 2, "orchestrator": 2, "executor": 2}


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory whose path is short enough for Ray's sockets (pytest's tmp_path often is not)."""
    made = Path(tempfile.mkdtemp(prefix="am-", dir="/tmp"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_replicas_are_read_as_service_counts() -> None:
    assert parse_replicas("ingest=2,orchestrator=2,executor=2") == {"ingest": 2, "orchestrator": 2, "executor": 2}
    assert parse_replicas(" webhook = 3 ,") == {"webhook": 3}
    assert parse_replicas("") == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ingest=0", "at least 1 replica"),
        ("ingest=-1", "at least 1 replica"),
        (f"executor={MAX_REPLICAS + 1}", f"at most {MAX_REPLICAS} replicas"),
        ("ingest=1000000", f"at most {MAX_REPLICAS} replicas"),
        ("kafka=2", "unknown service 'kafka'"),
        ("ingest", "write SERVICE=COUNT"),
        ("ingest=two", "whole number"),
        ("ingest=2,ingest=3", "named twice"),
    ],
)
def test_wrong_replicas_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ReplicasError, match=reason):
        parse_replicas(text)


def test_the_command_line_refuses_them_before_starting_anything(tmp_path: Path) -> None:
    for args, reason in (
        (["--replicas", "ingest=0"], "at least 1 replica"),
        (["--replicas", "nope=2"], "unknown service"),
        (["--ray-nodes", "0"], "from 1 to"),
        (["--ray-nodes", "99"], "from 1 to"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "alertmesh.cli", "up", "--state-dir", str(tmp_path / "s"), *args],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2 and reason in done.stderr, (args, done.stderr)
        assert not (tmp_path / "s").exists(), "nothing was started or created"


def test_settings_take_replicas_from_the_environment_as_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTMESH_REPLICAS", "ingest=2,executor=3")
    assert MeshSettings().replicas == {"ingest": 2, "executor": 3}
    monkeypatch.setenv("ALERTMESH_REPLICAS", "ingest=0")
    with pytest.raises(ValidationError, match="at least 1 replica"):
        MeshSettings()


def test_a_local_ray_cluster_and_ray_address_exclude_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "ray://elsewhere:10001")
    with pytest.raises(ValidationError, match="choose one"):
        MeshSettings(ray_nodes=2)


def test_replica_names_keep_the_first_as_the_service() -> None:
    assert [replica_name("ingest", n) for n in (1, 2, 3)] == ["ingest", "ingest-2", "ingest-3"]
    assert [service_of(name) for name in ("ingest-2", "executor", "ray-node-2", "ray-head")] == [
        "ingest", "executor", "ray-node-2", "ray-head",
    ]  # fmt: skip


def test_every_replica_is_its_own_part_with_its_own_ports(tmp_path: Path) -> None:
    mesh = plan(MeshSettings(state_dir=tmp_path, webhook_port=18080, replicas=ALL_TWO))
    names = [part.name for part in mesh.services]
    assert names == [
        "ingest", "ingest-2", "webhook", "webhook-2", "orchestrator", "orchestrator-2", "executor", "executor-2",
    ]  # fmt: skip
    ports = []
    for part in mesh.services:
        service = service_of(part.name)
        if service == "webhook":
            ports += [part.env["WEBHOOK_PORT"], part.env["WEBHOOK_METRICS_PORT"]]
        else:
            ports.append(part.env[f"{service.upper()}_HEALTH_PORT"])
        assert mesh.http_urls[part.name].endswith(":" + (ports[-1]))
        # Nothing names a consumer group per replica: every replica joins its service's one group.
        assert not any(key.endswith("GROUP_ID") for key in part.env), part.name
    assert len(ports) == len(set(ports)), "no two replicas share a port"
    assert mesh.services[2].env["WEBHOOK_PORT"] == "18080", "the first webhook is where senders expect it"
    assert any(line.startswith("Webhook replica  http://127.0.0.1:") for line in mesh.describe())


def test_executor_replicas_with_ray_inside_each_get_their_own_ray_dir(short_dir: Path) -> None:
    settings = MeshSettings(state_dir=short_dir / "s", replicas={"executor": 3})
    executors = [part for part in plan(settings).services if service_of(part.name) == "executor"]
    dirs = [part.env["RAY_TMPDIR"] for part in executors]
    # Given one directory, ray.init() would join the Ray the first executor recorded there and die with it.
    assert len(set(dirs)) == 3 and all(d.startswith(str((short_dir / "s").resolve() / "ray")) for d in dirs)
    assert all(part.after_ready is not None for part in executors), "each one's Ray dir is made private"
    prepare_private_dirs(settings)
    assert all(Path(d).is_dir() and (Path(d).stat().st_mode & 0o077) == 0 for d in dirs)


def test_ray_nodes_are_started_with_rays_cli_and_every_executor_joins_them(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    settings = MeshSettings(state_dir=short_dir / "s", replicas={"executor": 2}, ray_nodes=3, ray_node_cpus=2)
    mesh = plan(settings)
    assert [[part.name for part in stage] for stage in mesh.ray_stages] == [["ray-head"], ["ray-node-2", "ray-node-3"]]
    assert [stage[0].name for stage in mesh.stages] == ["kafka", "ray-head", "ray-node-2", "ingest"]
    head, *others = [part for stage in mesh.ray_stages for part in stage]
    port = next(arg.split("=")[1] for arg in head.command if arg.startswith("--port="))
    assert head.command[1:3] == ["start", "--head"]
    for node in [head, *others]:
        assert Path(node.command[0]).name == "ray" and "--block" in node.command
        assert "--num-cpus=2" in node.command and "--disable-usage-stats" in node.command
        assert f"--temp-dir={ray_cluster_dir(settings)}" in node.command
        assert node.env["RAY_AUTH_MODE"] == "token" and node.env["RAY_AUTH_TOKEN_PATH"] == str(ray_token_file(settings))
        assert node.env["RAY_USAGE_STATS_ENABLED"] == "0"
    for node in others:
        assert f"--address=127.0.0.1:{port}" in node.command
    # Every listener Ray would put on a fixed default port gets a port of its own, different on every node.
    flags = [arg for node in [head, *others] for arg in node.command if arg.endswith(tuple("0123456789"))]
    agent_ports = [arg for arg in flags if arg.startswith("--dashboard-agent-listen-port=")]
    assert len(agent_ports) == 3 and len(set(agent_ports)) == 3
    for executor in [part for part in mesh.services if service_of(part.name) == "executor"]:
        assert executor.env["RAY_ADDRESS"] == f"127.0.0.1:{port}"
        assert executor.env["RAY_AUTH_TOKEN_PATH"] == str(ray_token_file(settings))
        assert executor.after_ready is not None, "joining makes Ray's session dirs 0777: made private again"
    assert "local cluster of 3 nodes" in mesh.ray


def test_mesh_json_lists_every_replica(tmp_path: Path) -> None:
    mesh = plan(MeshSettings(state_dir=tmp_path, replicas={"ingest": 2}))

    class Running:
        def __init__(self, name: str, pid: int) -> None:
            self.part = type("P", (), {"name": name})()
            self.pid, self.running, self.restarts = pid, True, 0
            self.exit_codes: list[int] = []
            self.started_at = datetime.now(UTC)

    children = [Running(part.name, 100 + n) for n, part in enumerate(mesh.services)]
    state = current_state(mesh, children, datetime.now(UTC))  # type: ignore[arg-type]
    assert state.parts["ingest"].pid == 100 and state.parts["ingest-2"].pid == 101
    assert state.parts["ingest-2"].health_url == mesh.http_urls["ingest-2"] + "/healthz"
    assert state.parts["ingest"].health_url != state.parts["ingest-2"].health_url
