"""compose.yaml's store of large results: every executor and every result reader uses the same one.

A result over EXECUTOR_BLOB_THRESHOLD_BYTES is stored by the executor that ran the action and read back by
whichever executor renders the next action's arguments (another replica, or a restarted container), and by
``alertmesh results --resolve``. A ``file://`` reference names the store's path, and a store reads only references
at its own path, so all of them must see one directory, at one path, on one volume that outlives containers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.shared.blobs import DEFAULT_BLOB_DIR, BlobSettings, LocalDirectoryStore

Services = dict[str, dict[str, Any]]
EnvOf = Callable[[dict[str, Any]], dict[str, str]]
REPO = Path(__file__).resolve().parents[2]


def runs_executor(service: dict[str, Any]) -> bool:
    """The service is an executor: it stores results and reads stored ones back."""
    return " ".join(map(str, service.get("command") or [])) == "python -m services.executor"


def reads_results(service: dict[str, Any]) -> bool:
    """The service prints result events with their stored results resolved."""
    argv = [*map(str, service.get("entrypoint") or []), *map(str, service.get("command") or [])]
    return argv[:2] == ["alertmesh", "results"] and "--resolve" in argv


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """The service's volumes by container path: (source, read-only)."""
    found: dict[str, tuple[str, bool]] = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found[volume["target"]] = (str(volume.get("source", "")), bool(volume.get("read_only")))
        else:
            source, target, *options = volume.split(":")
            found[target] = (source, "ro" in ",".join(options).split(","))
    return found


@pytest.fixture
def blob_users(services: Services) -> dict[str, dict[str, Any]]:
    users = {name: service for name, service in services.items() if runs_executor(service) or reads_results(service)}
    assert any(runs_executor(service) for service in users.values()), "compose runs no executor"
    assert any(reads_results(service) for service in users.values()), "compose has no way to read stored results"
    return users


def store_of(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in list(__import__("os").environ):
        if name.upper().startswith("EXECUTOR_BLOB_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return BlobSettings().store()


def test_every_executor_and_result_reader_uses_one_shared_store(
    compose: dict[str, Any], blob_users: dict[str, dict[str, Any]], env_of: EnvOf, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        name: {k: v for k, v in env_of(s).items() if k.startswith("EXECUTOR_BLOB_")} for name, s in blob_users.items()
    }
    first = next(iter(settings.values()))
    assert all(value == first for value in settings.values()), f"the store's settings differ: {settings}"
    stores = {name: store_of(env_of(service), monkeypatch) for name, service in blob_users.items()}
    roots = {name: store.root for name, store in stores.items() if isinstance(store, LocalDirectoryStore)}
    if len(roots) < len(stores):
        assert not roots, "some use a local directory, others a bucket"
        return  # an S3-compatible bucket: one address for all, by construction
    [root] = set(roots.values())
    assert not root.is_relative_to(DEFAULT_BLOB_DIR.parent), f"{root}: the container's own temp dir, lost with it"
    for name, service in blob_users.items():
        mounted = mounts(service).get(str(root))
        assert mounted is not None, f"{name} does not mount the store at {root}"
        source, read_only = mounted
        assert source in (compose.get("volumes") or {}), f"{name}: {source} is not a named volume"
        if runs_executor(service):
            assert not read_only, f"{name} stores results: it must write the store"
    sources = {mounts(service)[str(root)][0] for service in blob_users.values()}
    assert len(sources) == 1, f"the store is on different volumes: {sources}"


def test_the_image_creates_the_store_for_its_user(blob_users: dict[str, dict[str, Any]], env_of: EnvOf) -> None:
    # A new named volume takes the owner and mode of the image's directory at its mount point: without it, the
    # volume is root's and the executor (uid alertmesh) cannot write a single result.
    [root] = {env_of(service)["EXECUTOR_BLOB_DIR"] for service in blob_users.values()}
    dockerfile = (REPO / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user is not None
    made = re.search(
        rf"^RUN install -d -o {user.group(1)} -g {user.group(1)} -m 0700 .*{re.escape(root)}\b",
        dockerfile,
        re.MULTILINE,
    )
    assert made, f"the Dockerfile does not create {root} owned by {user.group(1)}"
    assert dockerfile.index(made.group(0)) < dockerfile.index(f"USER {user.group(1)}")


def test_the_result_reader_is_a_tool_not_a_service(blob_users: dict[str, dict[str, Any]]) -> None:
    for name, service in blob_users.items():
        if reads_results(service) and not runs_executor(service):
            assert service.get("profiles"), f"{name} would start with `docker compose up`"
            assert service.get("restart", "no") == "no", name


def test_a_result_stored_by_one_executor_is_read_by_every_other_user(
    blob_users: dict[str, dict[str, Any]], env_of: EnvOf, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The shared volume, as every container sees it: each one's store, at its path, over one directory.
    [root] = {env_of(service)["EXECUTOR_BLOB_DIR"] for service in blob_users.values()}
    stores = {}
    for name, service in blob_users.items():
        store = store_of(env_of(service), monkeypatch)
        assert isinstance(store, LocalDirectoryStore)
        store.root = tmp_path  # where the test's "volume" is; the path compose gives is checked above
        stores[name] = store
    writer = next(name for name, service in blob_users.items() if runs_executor(service))
    ref = stores[writer].put(b'{"big": true}')
    for name, store in stores.items():
        assert store.get(ref) == b'{"big": true}', name
    assert root
