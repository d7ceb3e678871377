"""Blob stores: the local directory always; S3 against a real S3-protocol server (moto's) when installed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given

from alertmesh.stack.embedded import free_port, wait_for_port
from schemas.actions import StoredResult
from services.shared.blobs import BlobError, BlobSettings, BlobStore, LocalDirectoryStore, S3Store, resolve, store_json
from tests.shared.strategies import FUZZ, JSON


def roundtrip(store: BlobStore) -> None:
    ref = store.put(b'{"a":1}')
    assert (ref.size, ref.sha256) == (7, "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862")
    assert store.get(ref) == b'{"a":1}'
    assert store.put(b'{"a":1}') == ref  # content-addressed: the same bytes, the same object
    wrapped = {"x": [store_json({"deep": True}, store)], "y": 1}
    assert resolve(wrapped, store) == {"x": [{"deep": True}], "y": 1}
    with pytest.raises(BlobError, match="do not match"):
        store.get(ref.model_copy(update={"size": 8}))
    missing = ref.model_copy(update={"sha256": "1" * 64, "uri": ref.uri.replace(ref.sha256, "1" * 64)})
    missing = missing.model_copy(update={"uri": missing.uri.replace("/01/", "/11/")})
    with pytest.raises(BlobError, match=r"no such stored result|cannot read it"):
        store.get(missing)


def test_local_directory_store(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    roundtrip(store)
    assert [p.name for p in tmp_path.rglob("*.json")] != []
    assert not list(tmp_path.rglob(".tmp-*"))


def test_the_directories_the_store_creates_are_private_and_each_blob_is_0600(tmp_path: Path) -> None:
    root = tmp_path / "state" / "blobs"
    old_umask = os.umask(0)  # the modes come from the store, not from a strict umask
    try:
        ref = LocalDirectoryStore(root).put(b'{"secret": "alert data"}')
    finally:
        os.umask(old_umask)
    blob = Path(ref.uri.removeprefix("file://"))
    assert blob.is_relative_to(root.resolve())
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(blob.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600


def test_an_existing_store_directory_keeps_its_owners_mode(tmp_path: Path) -> None:
    # A volume an operator shares with a group on purpose is not narrowed behind their back.
    tmp_path.chmod(0o750)
    LocalDirectoryStore(tmp_path).put(b"1")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o750


@FUZZ
@given(value=JSON)
def test_a_result_stored_by_one_executor_is_read_back_by_another_at_the_same_path(value: Any) -> None:
    # compose's executors (replicas, restarted containers) and `alertmesh results --resolve` each build their own
    # store over the shared volume: a reference one stores, any other resolves to the same JSON.
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "blobs"
        stored = store_json(value, LocalDirectoryStore(root))
        assert resolve({"big": stored}, LocalDirectoryStore(Path(directory) / "." / "blobs")) == {
            "big": orjson.loads(orjson.dumps(value))
        }


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "s3://other/01/x.json", "file:///tmp/elsewhere/01/{sha}.json"])
def test_a_reference_outside_the_store_is_refused(tmp_path: Path, uri: str) -> None:
    store = LocalDirectoryStore(tmp_path)
    ref = store.put(b"1")
    with pytest.raises(BlobError, match="is not in this store"):
        store.get(StoredResult(uri=uri.format(sha=ref.sha256), size=1, sha256=ref.sha256))
    with pytest.raises(BlobError, match="not a SHA-256"):
        store.get(StoredResult(uri=ref.uri, size=1, sha256="../../etc/passwd"))


def test_settings_pick_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_BLOB_DIR", str(tmp_path))
    store = BlobSettings().store()
    assert isinstance(store, LocalDirectoryStore) and store.root == tmp_path.resolve()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-protocol server on a free loopback port (skipped when the s3 extra's test server is missing)."""
    pytest.importorskip("moto.server", reason="moto[server] (dev dependency) provides the S3-protocol test server")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.integration
def test_s3_store_against_an_s3_protocol_server(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"results-{int(time.time() * 1000)}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    monkeypatch.setenv("EXECUTOR_BLOB_S3_BUCKET", bucket)
    monkeypatch.setenv("EXECUTOR_BLOB_S3_PREFIX", "alertmesh/")
    monkeypatch.setenv("EXECUTOR_BLOB_S3_ENDPOINT_URL", s3_endpoint)
    store = BlobSettings().store()
    assert isinstance(store, S3Store)
    roundtrip(store)
    assert store.put(b"2").uri.startswith(f"s3://{bucket}/alertmesh/")
    with pytest.raises(BlobError, match="is not in this store"):
        ref = store.put(b"3")
        store.get(ref.model_copy(update={"uri": ref.uri.replace(bucket, "other")}))
