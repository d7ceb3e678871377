"""Finding an alert's trace in the local span store (``services.shared.span_store``) by any id it is known by.

An id may be the alert's event id, its correlation id, an idempotency key, a workflow id (Temporal's too), a
trigger or result event id, the trace id itself, or the position ``topic@partition/offset`` of a record ingest or
the orchestrator consumed (a dead letter's ``FROM`` in ``alertmesh dlq list``). Every span that knows one of these
carries it as an attribute (``services.shared.tracing``); the trace is then every span with that span's trace id,
from every process. The store is read twice, each line tested for the id's bytes before it is parsed, so a large
store is cheap to search.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from services.shared import tracing
from services.shared.span_store import SUFFIX

#: Attributes whose value names the alert (or its run) a span belongs to.
ID_ATTRIBUTES = (
    tracing.EVENT_ID,
    tracing.CORRELATION_ID,
    tracing.IDEMPOTENCY_KEY,
    tracing.WORKFLOW_ID,
    "temporalWorkflowID",
    "alertmesh.trigger_id",
    "alertmesh.result.id",
)


@dataclass(frozen=True)
class SpanRecord:
    """One finished span as the store keeps it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    start_ns: int
    end_ns: int
    status: str = "UNSET"
    error: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        """How long the span took, in milliseconds (0 for a span that ended before it started)."""
        return max(self.end_ns - self.start_ns, 0) / 1e6

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SpanRecord:
        """From one stored line (already parsed); fields the store may leave out get defaults. ``KeyError`` without
        ``trace_id`` or ``span_id``."""
        return cls(
            trace_id=str(raw["trace_id"]),
            span_id=str(raw["span_id"]),
            parent_id=raw.get("parent_id"),
            name=str(raw.get("name", "")),
            service=str(raw.get("service") or "?"),
            start_ns=int(raw.get("start") or 0),
            end_ns=int(raw.get("end") or raw.get("start") or 0),
            status=str(raw.get("status", "UNSET")),
            error=raw.get("error"),
            attrs=dict(raw.get("attrs") or {}),
        )


@dataclass(frozen=True)
class Trace:
    """Every stored span of one trace, by start time."""

    trace_id: str
    spans: list[SpanRecord]

    @property
    def start_ns(self) -> int:
        """When the earliest span started (nanoseconds since the epoch); the trace must have a span."""
        return min(span.start_ns for span in self.spans)

    @property
    def end_ns(self) -> int:
        """When the latest span ended (nanoseconds since the epoch); the trace must have a span."""
        return max(span.end_ns for span in self.spans)

    def attribute(self, name: str) -> Any:
        """The first value of attribute ``name`` among the spans (by start), or None."""
        for span in self.spans:
            if name in span.attrs:
                return span.attrs[name]
        return None

    @property
    def finished(self) -> bool:
        """Whether the alert's path reached its end: a published result, or a dead letter."""
        return any(tracing.RESULT_STATUS in s.attrs or tracing.DEAD_LETTER_STAGE in s.attrs for s in self.spans)


def _lines(directory: Path, needle: bytes) -> Iterator[dict[str, Any]]:
    """The parsed spans of the store whose line contains ``needle``."""
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            data = path.read_bytes()
        except OSError:  # pruned by a writer meanwhile
            continue
        if needle not in data:
            continue
        for line in data.splitlines():
            if needle in line:
                try:
                    parsed = orjson.loads(line)
                except orjson.JSONDecodeError:  # a line being written right now
                    continue
                if isinstance(parsed, dict) and parsed.get("trace_id"):
                    yield parsed


#: A record's position as ``alertmesh dlq list`` prints it (``FROM``): ``topic@partition/offset``.
_POSITION = re.compile(r"^(?P<topic>[A-Za-z0-9._-]+)@(?P<partition>\d+)/(?P<offset>\d+)$")


def _names(identifier: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a span (as stored) belongs to what ``identifier`` names: a trace id, one of ``ID_ATTRIBUTES``, or
    the Kafka record at ``topic@partition/offset`` (so a dead letter's ``FROM`` finds the record's trace)."""
    position = _POSITION.match(identifier)
    if position is not None:
        where = (position["topic"], position["partition"], int(position["offset"]))

        def consumed_there(attrs: dict[str, Any]) -> bool:
            found = attrs.get("messaging.destination.name"), attrs.get("messaging.destination.partition.id")
            return (*found, attrs.get("messaging.kafka.offset")) == where

        return lambda raw: consumed_there(raw.get("attrs") or {})
    return lambda raw: (
        raw["trace_id"] == identifier or any((raw.get("attrs") or {}).get(name) == identifier for name in ID_ATTRIBUTES)
    )


def trace_ids(directory: Path, identifier: str) -> list[str]:
    """The traces ``identifier`` names, oldest first."""
    position = _POSITION.match(identifier)
    needle = orjson.dumps(position["topic"] if position else identifier)[1:-1]
    if not needle:
        return []
    names = _names(identifier)
    first: dict[str, int] = {}
    for raw in _lines(directory, needle):
        if names(raw):
            trace_id = str(raw["trace_id"])
            first[trace_id] = min(first.get(trace_id, raw.get("start") or 0), raw.get("start") or 0)
    return sorted(first, key=first.__getitem__)


def load_trace(directory: Path, trace_id: str) -> Trace:
    """Every stored span of ``trace_id``, each once, by start time (no spans when the store has none)."""
    spans = [SpanRecord.from_json(raw) for raw in _lines(directory, trace_id.encode()) if raw["trace_id"] == trace_id]
    unique = {span.span_id: span for span in spans}  # a span exported twice (OTLP retry) counts once
    return Trace(trace_id, sorted(unique.values(), key=lambda span: (span.start_ns, span.end_ns)))


def find_traces(directory: Path, identifier: str) -> list[Trace]:
    """Every trace ``identifier`` names, oldest first (usually one; a re-sent alert or a re-run gives more)."""
    if not directory.is_dir():
        return []
    return [load_trace(directory, trace_id) for trace_id in trace_ids(directory, identifier)]


async def wait_for_traces(directory: Path, identifier: str, timeout_s: float, poll_s: float = 0.25) -> list[Trace]:
    """``find_traces``, polling until the newest trace is finished and no more spans arrive (processes write
    their spans out about once a second), or ``timeout_s`` passed; what was found by then."""
    deadline = time.monotonic() + timeout_s
    found: list[Trace] = []
    settled = 0
    while True:
        latest = await asyncio.to_thread(find_traces, directory, identifier)
        if latest and latest[-1].finished:
            same = bool(found) and len(found[-1].spans) == len(latest[-1].spans)
            # Spans of other processes may land up to a second later: wait for the count to hold still.
            settled = settled + 1 if same else 0
            if settled * poll_s >= 1.5:
                return latest
        found = latest
        if time.monotonic() >= deadline:
            return found
        await asyncio.sleep(poll_s)
