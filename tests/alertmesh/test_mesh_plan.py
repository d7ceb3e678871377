"""What ``alertmesh up`` plans to run, for the embedded default and for existing servers."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertmesh.stack.mesh import (
    DEMO_SOURCES,
    PRIVATE_UMASK,
    RAY_SOCKET_TAIL,
    SOCKET_PATH_MAX,
    MeshSettings,
    UnsafeDirectoryError,
    ensure_webhook_key,
    exposure_warnings,
    plan,
    prepare_private_dirs,
    prepare_state_dir,
    ray_temp_root,
    ray_token_file,
    webhook_usage,
)
from services.webhook.credentials import hash_key, load_credentials
from tests.shared.strategies import FUZZ


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


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory whose path is short enough for Ray's sockets (pytest's tmp_path often is not)."""
    made = Path(tempfile.mkdtemp(prefix="am-", dir="/tmp"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_every_part_up_starts_creates_private_files(tmp_path: Path) -> None:
    mesh = plan(MeshSettings(state_dir=tmp_path))
    assert {part.name: part.umask for part in [*mesh.servers, *mesh.services]} == {
        name: PRIVATE_UMASK for name in ("kafka", "temporal", "ingest", "webhook", "orchestrator", "executor")
    }
    assert PRIVATE_UMASK & 0o077 == 0o077


def test_local_ray_requires_a_token_and_keeps_its_temp_dir_in_the_state_dir(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = short_dir
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    settings = MeshSettings(state_dir=tmp_path / "s")
    executor = {part.name: part for part in plan(settings).services}["executor"]
    assert executor.env["RAY_AUTH_MODE"] == "token"
    assert executor.env["RAY_AUTH_TOKEN_PATH"] == str(ray_token_file(settings))
    assert Path(executor.env["RAY_TMPDIR"]) == (tmp_path / "s").resolve() / "ray"
    assert executor.after_ready is not None, "Ray's 0777 session dirs are made private once it runs"
    # The other services start no Ray: they get neither the token's path nor Ray's temp dir.
    for part in plan(settings).services:
        if part.name != "executor":
            assert not {"RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR", "RAY_AUTH_MODE"} & set(part.env), part.name


def test_a_ray_cluster_elsewhere_keeps_its_own_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "ray://ray.internal:10001")
    executor = {part.name: part for part in plan(MeshSettings(state_dir=tmp_path)).services}["executor"]
    assert not {"RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR", "RAY_AUTH_MODE"} & set(executor.env)
    assert executor.after_ready is None
    prepare_private_dirs(MeshSettings(state_dir=tmp_path / "state"))
    assert not (tmp_path / "state" / "ray-auth-token").exists()


@FUZZ
@given(depth=st.integers(0, 40), name=st.text("abcxyz-_.é", min_size=1, max_size=40))
def test_rays_temp_dir_always_leaves_room_for_its_sockets(depth: int, name: str) -> None:
    state_dir = Path("/tmp", *([name] * depth), ".alertmesh")
    root = ray_temp_root(MeshSettings(state_dir=state_dir))
    assert len(str(root).encode()) + len(RAY_SOCKET_TAIL) <= SOCKET_PATH_MAX
    fits = len(str(state_dir.resolve() / "ray").encode()) + len(RAY_SOCKET_TAIL) <= SOCKET_PATH_MAX
    # In the state dir whenever it fits; otherwise a per-user directory, never Ray's shared /tmp/ray.
    assert root == (state_dir.resolve() / "ray" if fits else root)
    assert fits or root.name == f"alertmesh-ray-{os.getuid()}"
    assert root != Path("/tmp/ray")


def test_an_existing_state_dir_and_everything_in_it_is_made_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "traces").mkdir(parents=True, mode=0o755)
    state.chmod(0o755)
    (state / "traces").chmod(0o777)
    (state / "temporal.db").write_text("old")
    (state / "temporal.db").chmod(0o644)
    outside = tmp_path / "outside"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (state / "link").symlink_to(outside)
    prepare_state_dir(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "traces").stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "temporal.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644, "a symlink is never followed"


@pytest.mark.parametrize("trap", ["symlink", "file", "another user's"])
def test_a_state_or_ray_dir_someone_else_controls_is_refused(tmp_path: Path, trap: str) -> None:
    target = tmp_path / "target"
    target.mkdir()
    state = tmp_path / "state"
    if trap == "symlink":
        state.symlink_to(target)
    elif trap == "file":
        state.write_text("")
    else:
        state.mkdir(mode=0o777)
        if os.geteuid() != 0:
            pytest.skip("only root can give a directory to another user")
        os.chown(state, 4242, 4242)
    with pytest.raises(UnsafeDirectoryError):
        prepare_private_dirs(MeshSettings(state_dir=state))
    assert not (target / "ray-auth-token").exists()


def test_the_fallback_ray_dir_of_another_user_is_refused(
    tmp_path: Path, short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A state dir too deep for Ray's sockets: Ray's temp dir goes to <tmp>/alertmesh-ray-<uid>, which another
    # user could have made first to read this user's Ray sessions.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(short_dir))
    deep = tmp_path / ("d" * 60) / "state"
    settings = MeshSettings(state_dir=deep)
    root = ray_temp_root(settings)
    assert root == short_dir / f"alertmesh-ray-{os.getuid()}"
    root.mkdir(mode=0o777)
    root.chmod(0o777)
    prepare_private_dirs(settings)  # this user's: made private
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        os.chown(root, 4242, 4242)
        with pytest.raises(UnsafeDirectoryError, match="belongs to uid 4242"):
            prepare_private_dirs(settings)


def test_the_ray_token_is_random_private_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    first, second = MeshSettings(state_dir=tmp_path / "a"), MeshSettings(state_dir=tmp_path / "b")
    prepare_private_dirs(first)
    prepare_private_dirs(second)
    token = ray_token_file(first)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert len(token.read_text()) == 64 and int(token.read_text(), 16)
    assert token.read_text() != ray_token_file(second).read_text()
    before = token.read_text()
    prepare_private_dirs(first)
    assert token.read_text() == before, "a second up keeps the token"


def test_up_warns_that_the_embedded_kafka_and_temporal_accept_anyone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "TEMPORAL_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    [warning] = exposure_warnings(MeshSettings())
    assert "no authentication on the embedded Kafka and Temporal and its UI at 127.0.0.1" in warning
    assert "any user of this machine" in warning
    [wide] = exposure_warnings(MeshSettings(host="0.0.0.0"))
    assert "anyone who can reach 0.0.0.0" in wide
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    [kafka_only] = exposure_warnings(MeshSettings())
    assert "the embedded Kafka at" in kafka_only and "Temporal" not in kafka_only
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.internal:9093")
    assert exposure_warnings(MeshSettings()) == []
