"""Where results too large for Temporal's history are kept, and how anyone holding a reference reads them back.

The executor stores an action result whose JSON is over ``EXECUTOR_BLOB_THRESHOLD_BYTES`` and reports
``{"$stored": {"uri", "size", "sha256"}}`` in its place (``schemas.actions.StoredResult``): the workflow's history
and the results topic carry the reference, the bytes live here. A blob is named by the SHA-256 of its bytes, so
storing the same result twice writes one object, and a reference is only ever read at the one address its hash
gives in a store the reader was configured with: a ``$stored`` object forged from alert data cannot point a reader
at ``file:///etc/passwd`` or another bucket. The bytes read are checked against the hash and size.

Two stores: a local directory (the default; fine for one machine or a shared volume) and an S3-compatible bucket
(``pip install 'alertmesh[s3]'``; AWS, MinIO, Ceph...), configured with ``EXECUTOR_BLOB_*`` settings.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.actions import STORED_KEY, StoredResult, stored_result

#: Default directory of the local store: per machine, outside the repository.
DEFAULT_BLOB_DIR = Path(tempfile.gettempdir()) / "alertmesh-blobs"
#: Mode of the directories the local store creates; each blob is created 0600 (``tempfile.mkstemp``).
PRIVATE_DIR_MODE = 0o700


class BlobError(Exception):
    """A stored result could not be read back: missing, from another store, or not the bytes it claims."""


class BlobStore(Protocol):
    """Keeps bytes by their SHA-256 and gives them back by reference."""

    def put(self, data: bytes) -> StoredResult:
        """Store ``data``; its reference (uri, size, sha256)."""
        ...

    def get(self, ref: StoredResult) -> bytes:
        """The bytes ``ref`` stands for; BlobError if they are not in this store or do not match ``ref``."""
        ...


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(ref: StoredResult, data: bytes) -> bytes:
    if len(data) != ref.size or _digest(data) != ref.sha256:
        raise BlobError(f"{ref.uri}: the stored bytes do not match their reference (size or sha256)")
    return data


def _valid_digest(ref: StoredResult) -> str:
    digest = ref.sha256.lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BlobError(f"{ref.uri}: {ref.sha256!r} is not a SHA-256 digest")
    return digest


class LocalDirectoryStore:
    """Blobs as files ``<root>/<sha[:2]>/<sha>.json``, written atomically (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.json"

    def put(self, data: bytes) -> StoredResult:
        """Store ``data`` (nothing is written when the same bytes are there already); its ``file://`` reference."""
        digest = _digest(data)
        path = self._path(digest)
        if not path.exists():
            # Results carry alert data: a store directory this process creates is for its own user only (an
            # existing one keeps the mode its owner gave it, e.g. a group-shared volume).
            self.root.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            path.parent.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        return StoredResult(uri=path.as_uri(), size=len(data), sha256=digest)

    def get(self, ref: StoredResult) -> bytes:
        """The bytes ``ref`` stands for; BlobError if its uri is not this store's address for its hash, the file is
        missing, or the bytes do not match."""
        path = self._path(_valid_digest(ref))
        if ref.uri != path.as_uri():
            raise BlobError(f"{ref.uri} is not in this store ({self.root.as_uri()})")
        try:
            return _checked(ref, path.read_bytes())
        except FileNotFoundError:
            raise BlobError(f"{ref.uri}: no such stored result (removed, or stored on another machine?)") from None


class S3Store:
    """Blobs as objects ``s3://<bucket>/<prefix><sha[:2]>/<sha>.json`` in an S3-compatible service.

    Credentials come the way boto3 finds them (AWS_* variables, profile, instance role); ``endpoint_url`` points
    at MinIO, Ceph or another S3-compatible server.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        if client is None:
            import boto3  # the optional ``s3`` extra: only this store needs it

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self._client = client

    def _key(self, digest: str) -> str:
        return f"{self.prefix}{digest[:2]}/{digest}.json"

    def put(self, data: bytes) -> StoredResult:
        """Store ``data`` as an object (the same bytes overwrite the same object); its ``s3://`` reference."""
        digest = _digest(data)
        key = self._key(digest)
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json")
        return StoredResult(uri=f"s3://{self.bucket}/{key}", size=len(data), sha256=digest)

    def get(self, ref: StoredResult) -> bytes:
        """The bytes ``ref`` stands for; BlobError if its uri is not this store's address for its hash, the object
        cannot be read, or the bytes do not match."""
        key = self._key(_valid_digest(ref))
        if ref.uri != f"s3://{self.bucket}/{key}":
            raise BlobError(f"{ref.uri} is not in this store (s3://{self.bucket}/{self.prefix})")
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:  # botocore's errors are generated classes; NoSuchKey is one of many
            raise BlobError(f"{ref.uri}: cannot read it: {exc}") from None
        return _checked(ref, answer["Body"].read())


class BlobSettings(BaseSettings):
    """Which blob store results go to (``EXECUTOR_BLOB_*``); the executor writes it, result consumers read it."""

    model_config = SettingsConfigDict(env_prefix="EXECUTOR_BLOB_", extra="ignore")

    #: Directory of the local store (used unless ``s3_bucket`` is set).
    dir: Path = DEFAULT_BLOB_DIR
    #: An S3 bucket: when set, blobs go there instead of ``dir``.
    s3_bucket: str | None = None
    #: Key prefix inside the bucket, e.g. "alertmesh/results/".
    s3_prefix: str = ""
    #: An S3-compatible endpoint (MinIO, Ceph...); empty for AWS.
    s3_endpoint_url: str | None = Field(None)

    def store(self) -> BlobStore:
        """The configured store."""
        if self.s3_bucket:
            return S3Store(self.s3_bucket, self.s3_prefix, self.s3_endpoint_url)
        return LocalDirectoryStore(self.dir)


def resolve(value: Any, store: BlobStore) -> Any:
    """``value`` with every ``{"$stored": ...}`` inside it (at any depth) replaced by the JSON it stands for.

    For consumers of result events and workflow returns: ``resolve(event.data.result, BlobSettings().store())``.
    """
    ref = stored_result(value)
    if ref is not None:
        return orjson.loads(store.get(ref))
    if isinstance(value, dict):
        return {key: resolve(item, store) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, store) for item in value]
    return value


def store_json(value: Any, store: BlobStore) -> dict[str, Any]:
    """Store ``value`` as compact JSON; the ``{"$stored": ...}`` object that stands for it."""
    ref = store.put(orjson.dumps(value))
    return {STORED_KEY: ref.model_dump(mode="json")}


def resolve_json(document: bytes, store: BlobStore) -> bytes:
    """A JSON document (a result event, say) with its ``{"$stored": ...}`` objects resolved, as compact JSON;
    BlobError if one cannot be read. What ``alertmesh results --resolve`` prints."""
    return orjson.dumps(resolve(orjson.loads(document), store))
