"""The local span store: finished spans as JSON lines in one directory, bounded in total size.

Every process that traces (each service, every Ray worker) writes its own files, named after its service and
process id, so no two writers share a file and no lock spans processes. A file is a *segment*: once it holds
about ``segment_bytes`` the writer starts a new one and deletes the oldest segments of the directory (any
writer's) until the directory is within ``max_bytes`` again. The directory thus stays within about
``max_bytes`` plus one open segment per writing process; the oldest spans go first. ``alertmesh trace`` reads
it (``alertmesh.trace.lookup``).

Pruning deletes segments only: files whose whole name matches ``SEGMENT_NAME``
(``<service>-<pid>-<ms>-<sequence>.spans.jsonl``), which only this module writes (or ``LEGACY_SEGMENT_NAME``, the
segments of earlier versions). The directory may be one a
user pointed ``ALERTMESH_TRACES_DIR`` at, holding their own ``*.jsonl`` files: those are neither counted nor
deleted. Spans carry alert data, so a directory the store creates is 0700 and every segment is created 0600.

One line per span::

    {"trace_id": "<32 hex>", "span_id": "<16 hex>", "parent_id": "<16 hex>" | null, "name": ..., "kind": ...,
     "service": "alertmesh-ingest", "start": <ns since epoch>, "end": <ns>, "status": "OK" | "ERROR" | "UNSET",
     "error": <status description> | null, "attrs": {...}, "events": [{"name", "time", "attrs"}]}
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
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
#: The full name of a segment, and nothing else's: what pruning may count and delete.
SEGMENT_NAME = re.compile(r"[A-Za-z0-9_.-]+-[0-9]+-[0-9]+-[0-9]{4,}\.spans\.jsonl")
#: Segments of earlier versions (``alertmesh-<service>-<pid>-<ms since epoch>-<sequence>.jsonl``): still pruned,
#: or a store upgraded in place would keep them, uncounted, for ever.
LEGACY_SEGMENT_NAME = re.compile(r"alertmesh-[a-z]+-[0-9]+-[0-9]{13}-[0-9]{4,}\.jsonl")
SEGMENT_SUFFIX = ".spans" + SUFFIX
#: A directory the store creates, and each segment: private to the user the service runs as.
DIRECTORY_MODE = 0o700
SEGMENT_MODE = 0o600
log = logging.getLogger(__name__)
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


def is_segment(path: Path) -> bool:
    """Whether ``path`` is named as only this store names its segments (``SEGMENT_NAME``, or
    ``LEGACY_SEGMENT_NAME`` for those of earlier versions)."""
    return SEGMENT_NAME.fullmatch(path.name) is not None or LEGACY_SEGMENT_NAME.fullmatch(path.name) is not None


def prune(directory: Path, max_bytes: int, keep: Path | None = None) -> int:
    """Delete the oldest segments until the directory's segments hold at most ``max_bytes``; the bytes deleted.
    Only segments count and go (``is_segment``): other files in the directory are never touched. ``keep``
    (the caller's open segment) is never deleted. Another writer may delete the same file meanwhile: fine."""
    segments: list[tuple[float, int, Path]] = []
    for path in directory.glob(f"*{SUFFIX}"):
        if not is_segment(path):
            continue
        try:
            stat = path.lstat()  # a symlink named like a segment is counted as itself, never followed
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
        #: Spans that could not be written (disk full, directory gone or not writable), since the start.
        self.lost_spans = 0
        self._failing = False

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
        except OSError as error:
            # A full disk or a deleted directory loses spans, never the service's work. The loss is counted and
            # logged once per outage (not per span: every record makes one, and the log would drown).
            self._lost(len(spans), error)
            return SpanExportResult.FAILURE
        if self._failing:
            self._failing = False
            log.warning("span store %s writable again; %d spans lost so far", self._directory, self.lost_spans)
        return SpanExportResult.SUCCESS

    def _lost(self, count: int, error: OSError) -> None:
        with self._lock:
            self.lost_spans += count
            if self._file is not None:
                # The segment is in an unknown state (a partial write): the next export starts a new one.
                with contextlib.suppress(OSError):
                    self._file.close()
                self._file = None
        if not self._failing:
            self._failing = True
            log.warning("span store %s cannot be written (%s): spans are lost until it can", self._directory, error)

    def _segment(self) -> IO[bytes]:
        if self._file is not None and self._written < self._segment_bytes:
            return self._file
        if self._file is not None:
            self._file.close()
        self._directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        # The new segment counts as full already, so the directory stays within the bound once it fills.
        prune(self._directory, max(self._max_bytes - self._segment_bytes, 0), keep=None)
        self._file = self._create_segment()
        self._written = 0
        return self._file

    def _create_segment(self) -> IO[bytes]:
        """A new segment, 0600 from its creation (not chmod'ed later); O_EXCL and O_NOFOLLOW so a file or
        symlink someone else put at the name is never written through."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        while True:
            self._sequence += 1
            self._path = self._directory / f"{self._prefix}-{self._sequence:04d}{SEGMENT_SUFFIX}"
            try:
                fd = os.open(self._path, flags, SEGMENT_MODE)
            except FileExistsError:
                continue  # another file already has the name: take the next sequence number
            return os.fdopen(fd, "ab")

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
