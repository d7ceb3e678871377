"""The local span store: one file per process, JSON lines, rotated and pruned to stay within its bound."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.shared.span_store import MIN_SEGMENT_BYTES, JsonlSpanExporter, is_segment, prune, segment_bytes_for
from tests.shared.strategies import FOREIGN_FILE_NAMES, FUZZ


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


def segment_name(n: int, service: str = "alertmesh-s") -> str:
    return f"{service}-{1000 + n}-1700000000000-{n:04d}.spans.jsonl"


def test_prune_deletes_the_oldest_segments_first(tmp_path: Path) -> None:
    for n in range(5):
        path = tmp_path / segment_name(n)
        path.write_bytes(b"x" * 100)
        os.utime(path, (time.time() - 100 + n, time.time() - 100 + n))
    freed = prune(tmp_path, 250)
    assert freed == 300
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == [segment_name(3), segment_name(4)]


def test_prune_leaves_every_file_that_is_not_a_segment(tmp_path: Path) -> None:
    # ALERTMESH_TRACES_DIR may be a folder of the user's own: their *.jsonl files are neither counted nor deleted.
    foreign = ["notes.jsonl", "alertmesh-ingest-1-2-0001.jsonl", "audit.spans.jsonl", "spans.jsonl"]
    for n, name in enumerate(foreign):
        (tmp_path / name).write_bytes(b"y" * 1000)
        os.utime(tmp_path / name, (time.time() - 1000 - n, time.time() - 1000 - n))  # older than any segment
    for n in range(3):
        (tmp_path / segment_name(n)).write_bytes(b"x" * 100)
    assert prune(tmp_path, 100) == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*foreign, segment_name(2)])
    assert all((tmp_path / name).read_bytes() == b"y" * 1000 for name in foreign)


def test_a_writer_keeps_the_users_own_jsonl_files_while_it_rotates(tmp_path: Path) -> None:
    (tmp_path / "mine.jsonl").write_bytes(b'{"kept": true}\n' * 10_000)
    os.utime(tmp_path / "mine.jsonl", (0, 0))  # the oldest file of the folder
    bound = 256 * 1024
    tracer = provider_writing_to(JsonlSpanExporter(tmp_path, "alertmesh-w", max_bytes=bound)).get_tracer("test")
    for n in range(400):
        tracer.start_span(f"span {n}", attributes={"padding": "x" * 2000}).end()
    assert (tmp_path / "mine.jsonl").read_bytes() == b'{"kept": true}\n' * 10_000
    segments = [path for path in tmp_path.iterdir() if is_segment(path)]
    assert len(segments) > 1, "the writer never rotated: the test proves nothing"
    assert sum(path.stat().st_size for path in segments) <= bound + segment_bytes_for(bound)


def test_segments_of_earlier_versions_are_pruned_too(tmp_path: Path) -> None:
    # Before segments were named *.spans.jsonl: a store upgraded in place must not keep those for ever.
    legacy = tmp_path / "alertmesh-ingest-4242-1700000000000-0001.jsonl"
    legacy.write_bytes(b"x" * 100)
    os.utime(legacy, (time.time() - 100, time.time() - 100))
    (tmp_path / segment_name(1)).write_bytes(b"x" * 100)
    (tmp_path / "notes.jsonl").write_bytes(b"y" * 100)
    assert is_segment(legacy)
    assert prune(tmp_path, 100) == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([segment_name(1), "notes.jsonl"])


@FUZZ
@given(
    foreign=st.lists(FOREIGN_FILE_NAMES, unique=True, max_size=6),
    sizes=st.lists(st.integers(0, 400), min_size=1, max_size=8),
    bound=st.integers(0, 1500),
)
def test_prune_deletes_only_segments_and_keeps_them_within_the_bound(
    foreign: list[str], sizes: list[int], bound: int
) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        now = time.time()
        for n, file_name in enumerate(foreign):
            (directory / file_name).write_bytes(b"y" * 500)
            os.utime(directory / file_name, (now - 10_000 - n, now - 10_000 - n))
        for n, size in enumerate(sizes):
            (directory / segment_name(n)).write_bytes(b"x" * size)
            os.utime(directory / segment_name(n), (now - 100 + n, now - 100 + n))
        freed = prune(directory, bound)
        assert sorted(p.name for p in directory.iterdir() if not is_segment(p)) == sorted(foreign)
        kept = sorted(int(p.name.split("-")[-1].split(".")[0]) for p in directory.iterdir() if is_segment(p))
        assert sum(sizes[n] for n in kept) <= bound
        assert freed == sum(sizes) - sum(sizes[n] for n in kept)
        # Oldest first: what is kept is the newest segments.
        assert kept == list(range(len(sizes) - len(kept), len(sizes)))


def test_a_new_directory_is_private_and_every_segment_is_0600(tmp_path: Path) -> None:
    directory = tmp_path / "traces" / "store"
    exporter = JsonlSpanExporter(directory, "alertmesh-test", max_bytes=4 * MIN_SEGMENT_BYTES)
    tracer = provider_writing_to(exporter).get_tracer("test")
    old_umask = os.umask(0)  # the modes come from the store itself, not from a strict umask
    try:
        for n in range(200):
            tracer.start_span(f"span {n}", attributes={"padding": "x" * 1000}).end()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    segments = list(directory.iterdir())
    assert len(segments) > 1 and all(is_segment(path) for path in segments)
    assert {stat.S_IMODE(path.stat().st_mode) for path in segments} == {0o600}


def test_a_file_planted_at_a_segments_name_is_not_written_through(tmp_path: Path) -> None:
    exporter = JsonlSpanExporter(tmp_path / "store", "alertmesh-test")
    tracer = provider_writing_to(exporter).get_tracer("test")
    tracer.start_span("first").end()
    [first] = (tmp_path / "store").iterdir()
    exporter.shutdown()
    # Someone puts a symlink where the writer's next segment goes: the writer takes another name.
    target = tmp_path / "victim"
    target.write_text("untouched")
    planted = first.with_name(first.name.replace("-0001.", "-0002."))
    planted.symlink_to(target)
    tracer.start_span("second").end()
    assert target.read_text() == "untouched"
    third = first.with_name(first.name.replace("-0001.", "-0003."))
    assert b'"second"' in third.read_bytes()


class CapturedWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def spans_of(tracer_provider: TracerProvider, names: list[str]) -> list[ReadableSpan]:
    """Finished spans named ``names``, made by a provider that exports nowhere (to hand them to an exporter)."""
    finished: list[ReadableSpan] = []

    class Collect(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            finished.extend(spans)
            return SpanExportResult.SUCCESS

    tracer_provider.add_span_processor(SimpleSpanProcessor(Collect()))
    tracer = tracer_provider.get_tracer("test")
    for name in names:
        tracer.start_span(name).end()
    return finished


@pytest.mark.parametrize("breakage", ["a file in its place", "removed, a file in its place", "not writable"])
def test_a_store_that_cannot_be_written_loses_spans_not_the_service(tmp_path: Path, breakage: str) -> None:
    directory = tmp_path / "traces"
    exporter = JsonlSpanExporter(directory, "alertmesh-test")
    warnings = CapturedWarnings()
    logging.getLogger("services.shared.span_store").addHandler(warnings)
    spans = spans_of(TracerProvider(), ["before", "lost 1", "lost 2", "after"])
    try:
        assert exporter.export(spans[:1]) is SpanExportResult.SUCCESS
        # The store's own write path breaks under the running writer.
        if breakage == "not writable":
            if os.geteuid() == 0:
                pytest.skip("root writes through any mode")
            for path in directory.iterdir():
                path.chmod(0o400)
            directory.chmod(0o500)
            exporter.shutdown()  # the next export must open a new segment in the read-only folder
        else:
            exporter.shutdown()
            shutil.rmtree(directory)
            directory.write_text("a file where the folder was")
        # The call returns (no exception for the service to die of), the spans are counted as lost, and the loss
        # is logged once, not once per span.
        assert exporter.export(spans[1:2]) is SpanExportResult.FAILURE
        assert exporter.export(spans[2:3]) is SpanExportResult.FAILURE
        assert exporter.lost_spans == 2
        assert len([m for m in warnings.messages if "cannot be written" in m]) == 1
        # Once the folder is usable again, spans are stored again: the writer kept going.
        if breakage == "not writable":
            directory.chmod(0o700)
        else:
            directory.unlink()
        assert exporter.export(spans[3:]) is SpanExportResult.SUCCESS
    finally:
        logging.getLogger("services.shared.span_store").removeHandler(warnings)
        if directory.is_dir():
            directory.chmod(0o700)
    stored = b"".join(path.read_bytes() for path in directory.iterdir())
    assert b'"after"' in stored and b'"lost 1"' not in stored
    assert any("writable again" in m and "2 spans lost" in m for m in warnings.messages)


def test_a_service_whose_store_breaks_keeps_tracing_and_running(tmp_path: Path) -> None:
    # Through the SDK, as every service exports: the store failing changes nothing for the code making spans.
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    exporter = JsonlSpanExporter(blocked / "traces", "alertmesh-test")
    tracer = provider_writing_to(exporter).get_tracer("test")
    done = []
    for n in range(5):
        with tracer.start_as_current_span(f"work {n}"):
            done.append(n)
    assert done == list(range(5))
    assert exporter.lost_spans == 5
