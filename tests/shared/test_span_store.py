"""The local span store: one file per process, JSON lines, rotated and pruned to stay within its bound."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.shared.span_store import JsonlSpanExporter, prune, segment_bytes_for


def provider_writing_to(exporter: JsonlSpanExporter, **resource: object) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "alertmesh-test", **resource}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def test_a_span_is_one_json_line_with_ids_times_status_and_attributes(tmp_path: Path) -> None:
    exporter = JsonlSpanExporter(tmp_path, "alertmesh-test")
    tracer = provider_writing_to(exporter).get_tracer("test")
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.CONSUMER) as parent,
        tracer.start_as_current_span("child", attributes={"alertmesh.ref": "a", "n": 3}) as child,
    ):
        child.set_status(Status(StatusCode.ERROR, "it broke"))
        child.add_event("retry", {"attempt": 2})
    [path] = tmp_path.glob("*.jsonl")
    assert path.name.startswith(f"alertmesh-test-{os.getpid()}-")
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["name"] for line in lines] == ["child", "parent"]
    first, second = lines
    assert first["trace_id"] == second["trace_id"] == format(parent.get_span_context().trace_id, "032x")
    assert first["parent_id"] == second["span_id"] == format(parent.get_span_context().span_id, "016x")
    assert second["parent_id"] is None
    assert first["service"] == "alertmesh-test"
    assert first["status"] == "ERROR" and first["error"] == "it broke"
    assert first["attrs"] == {"alertmesh.ref": "a", "n": 3}
    assert first["events"][0]["name"] == "retry"
    assert second["kind"] == "CONSUMER"
    assert second["start"] <= first["start"] <= first["end"] <= second["end"]


def test_a_ray_workers_spans_are_marked_as_such(tmp_path: Path) -> None:
    exporter = JsonlSpanExporter(tmp_path, "alertmesh-executor")
    tracer = provider_writing_to(exporter, **{"alertmesh.ray.worker": True}).get_tracer("test")
    tracer.start_span("ray task").end()
    [path] = tmp_path.glob("*.jsonl")
    assert orjson.loads(path.read_bytes())["attrs"]["alertmesh.ray.worker"] is True


def test_each_span_names_its_own_providers_service(tmp_path: Path) -> None:
    # span_line keeps the last resource's fields: spans of another provider must not get them.
    exporter = JsonlSpanExporter(tmp_path, "alertmesh-mixed")
    plain = provider_writing_to(exporter).get_tracer("test")
    ray = provider_writing_to(exporter, **{"service.name": "alertmesh-executor", "alertmesh.ray.worker": True})
    for tracer in (plain, ray.get_tracer("test"), plain):
        tracer.start_span("hop", attributes={"n": 1}).end()
    [path] = tmp_path.glob("*.jsonl")
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [(line["service"], line["attrs"]) for line in lines] == [
        ("alertmesh-test", {"n": 1}),
        ("alertmesh-executor", {"n": 1, "alertmesh.ray.worker": True}),
        ("alertmesh-test", {"n": 1}),
    ]


def test_the_directory_stays_within_its_bound_however_many_spans_are_written(tmp_path: Path) -> None:
    bound = 1024 * 1024
    writers = [JsonlSpanExporter(tmp_path, f"alertmesh-writer{n}", max_bytes=bound) for n in range(3)]
    tracers = [provider_writing_to(writer).get_tracer("test") for writer in writers]
    padding = "x" * 2000
    for round_ in range(600):
        for tracer in tracers:
            tracer.start_span(f"span {round_}", attributes={"padding": padding}).end()
    total = sum(path.stat().st_size for path in tmp_path.glob("*.jsonl"))
    written = 600 * 3 * 2000
    assert written > 3 * bound
    # Within the bound, plus at most one open segment per writer.
    assert total <= bound + 3 * segment_bytes_for(bound)
    # The newest spans are kept: the last round of every writer is in the store.
    text = b"".join(path.read_bytes() for path in tmp_path.glob("*.jsonl"))
    assert text.count(b'"span 599"') == 3


def test_prune_deletes_the_oldest_segments_first(tmp_path: Path) -> None:
    for n in range(5):
        path = tmp_path / f"s-{n}.jsonl"
        path.write_bytes(b"x" * 100)
        os.utime(path, (time.time() - 100 + n, time.time() - 100 + n))
    freed = prune(tmp_path, 250)
    assert freed == 300
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["s-3.jsonl", "s-4.jsonl"]


def test_a_store_that_cannot_be_written_loses_spans_not_the_service(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    exporter = JsonlSpanExporter(blocked / "traces", "alertmesh-test")
    tracer = provider_writing_to(exporter).get_tracer("test")
    tracer.start_span("lost").end()  # no exception reaches the caller
