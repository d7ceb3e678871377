"""The local span store: finished spans as JSON lines in one directory, bounded in total size.

Every process that traces (each service, every Ray worker) writes its own files, named after its service and
process id, so no two writers share a file and no lock spans processes. A file is a *segment*: once it holds
about ``segment_bytes`` the writer starts a new one and deletes the oldest segments of the directory (any
writer's) until the directory is within ``max_bytes`` again. The directory thus stays within about
``max_bytes`` plus one open segment per writing process; the oldest spans go first. ``alertmesh trace`` reads
it (``alertmesh.trace.lookup``).

One line per span::

    {"trace_id": "<32 hex>", "span_id": "<16 hex>", "parent_id": "<16 hex>" | null, "name": ..., "kind": ...,
     "service": "alertmesh-ingest", "start": <ns since epoch>, "end": <ns>, "status": "OK" | "ERROR" | "UNSET",
     "error": <status description> | null, "attrs": {...}, "events": [{"name", "time", "attrs"}]}
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

#: Default bound of the directory (``ALERTMESH_TRACES_MAX_BYTES``).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Segments are this share of the bound, so pruning frees space in small steps and many writers fit.
SEGMENTS_PER_BOUND = 16
MIN_SEGMENT_BYTES = 64 * 1024
SUFFIX = ".jsonl"
#: The resource attribute (``services.shared.tracing.RAY_WORKER``) a Ray worker's spans repeat in their own.
_RAY_WORKER = "alertmesh.ray.worker"
# (resource, its service name, its Ray-worker flag) of the last span written: see ``_resource_fields``.
_last_resource: tuple[Resource | None, str | None, bool] = (None, None, False)


def span_line(span: ReadableSpan) -> bytes:
    """One span as its JSON line (see the module docstring).

    The export thread runs this for every span ingest makes (one per record), so it reads each field once and
    copies the attributes at once rather than key by key."""
    context = span.context
    parent = span.parent
    status = span.status
    service, ray_worker = _resource_fields(span.resource)
    attributes = span.attributes
    # The SDK's spans give a read-only view of their attributes, whose copy() is a plain dict copy.
    attrs = attributes.copy() if isinstance(attributes, MappingProxyType) else dict(attributes or {})
    if ray_worker:
        attrs[_RAY_WORKER] = True
    record: dict[str, Any] = {
        "trace_id": f"{context.trace_id:032x}" if context else None,
        "span_id": f"{context.span_id:016x}" if context else None,
        "parent_id": f"{parent.span_id:016x}" if parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": service,
        "start": span.start_time,
        "end": span.end_time,
        "status": status.status_code.name,
        "error": status.description,
        "attrs": attrs,
    }
    events = span.events  # a new tuple at each read
    if events:
        record["events"] = [
            {"name": event.name, "time": event.timestamp, "attrs": dict(event.attributes or {})} for event in events
        ]
    # Attribute keys are strings (the SDK drops others); values the SDK cleaned, so ``default`` is a safety net.
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE, default=str)


def _resource_fields(resource: Resource | None) -> tuple[str | None, bool]:
    """The service name and Ray-worker flag of a span's resource: the same object for every span of a process,
    so they are read once."""
    global _last_resource
    known, service, ray_worker = _last_resource
    if resource is known:
        return service, ray_worker
    attributes = resource.attributes if resource is not None else {}
    name = attributes.get("service.name")
    _last_resource = (resource, None if name is None else str(name), bool(attributes.get(_RAY_WORKER)))
    return _last_resource[1], _last_resource[2]


def segment_bytes_for(max_bytes: int) -> int:
    """How large one segment file grows before the next is started: a fraction of ``max_bytes`` (so pruning frees space
    in small steps), but at least ``MIN_SEGMENT_BYTES`` and at most ``max_bytes``."""
    return min(max_bytes, max(MIN_SEGMENT_BYTES, max_bytes // SEGMENTS_PER_BOUND))


def prune(directory: Path, max_bytes: int, keep: Path | None = None) -> int:
    """Delete the oldest segments until the directory holds at most ``max_bytes``; the bytes deleted. ``keep``
    (the caller's open segment) is never deleted. Another writer may delete the same file meanwhile: fine."""
    segments: list[tuple[float, int, Path]] = []
    for path in directory.glob(f"*{SUFFIX}"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        segments.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in segments)
    freed = 0
    for _, size, path in sorted(segments):
        if total - freed <= max_bytes:
            break
        if path == keep:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        freed += size
    return freed


class JsonlSpanExporter(SpanExporter):
    """Appends spans to this process's segment in ``directory``; rotates and prunes as the module says."""

    def __init__(self, directory: Path, service: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._directory = directory
        self._prefix = f"{service}-{os.getpid()}-{time.time_ns() // 1_000_000}"
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes_for(max_bytes)
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._written = 0
        self._sequence = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append ``spans`` as JSON lines and flush them, so readers see them at once; FAILURE, not an exception, when
        the file cannot be written."""
        data = b"".join(span_line(span) for span in spans)
        try:
            with self._lock:
                target = self._segment()
                target.write(data)
                # Readers (``alertmesh trace``) see a span as soon as it is exported.
                target.flush()
                self._written += len(data)
        except OSError:
            # A full disk or a deleted directory loses spans, never the service's work.
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _segment(self) -> IO[bytes]:
        if self._file is not None and self._written < self._segment_bytes:
            return self._file
        if self._file is not None:
            self._file.close()
        self._directory.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        self._path = self._directory / f"{self._prefix}-{self._sequence:04d}{SUFFIX}"
        # The new segment counts as full already, so the directory stays within the bound once it fills.
        prune(self._directory, max(self._max_bytes - self._segment_bytes, 0), keep=None)
        self._file = self._path.open("ab")
        self._written = 0
        return self._file

    def shutdown(self) -> None:
        """Close the open segment; a later export starts a new one."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the open segment (spans are flushed on export already); always True."""
        with self._lock:
            if self._file is not None:
                self._file.flush()
        return True
