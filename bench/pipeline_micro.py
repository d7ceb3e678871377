"""Micro-benchmark of ingest's hot path: ``pipeline.process`` on one real sample, no Kafka.

``python -m bench.pipeline_micro [--sample NAME] [--records N] [--repeat R] [--tracing off|noop|store]`` prints
the best of R runs in microseconds per record (and records per second), for comparing a change to the parsers, the
pipeline or the tracing. The time is this process's CPU time, every thread's: on a shared machine, wall time
mostly measures the other processes, and the span store's export thread works for the records too.

``--tracing``: ``off`` (the default) times ``process`` alone; ``noop`` and ``store`` time what ingest does per
record (``services.ingest.app``): start the record's span, ``process`` with its trace headers, end the span.
``noop`` has no tracer provider (OpenTelemetry's API only); ``store`` installs ingest's provider writing to the
local span store in a temporary directory, and flushes it at the end of each run so the export is timed.

``--steps`` instead prints what each step of ingest's path costs per record, the Kafka client's consume and produce
included (against an embedded broker it starts): see ``bench.ingest_steps``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import count

from alertmesh import samples
from bench import ingest_steps
from services.ingest import record_spans
from services.ingest.defaults import ROUTING_FILE
from services.ingest.parsers import PARSERS
from services.ingest.pipeline import process
from services.ingest.routing import RoutingTable, load_routing
from services.shared import tracing
from services.shared.deadletter import ConsumedRecord

MODES = ("off", "noop", "store")
MAX_BYTES = 1_048_576


def best_us_per_record(sample: str, records: int, repeat: int, mode: str = "off") -> float:
    """Best-of-``repeat`` time of ``records`` records through ingest's hot path (``mode``: see the module
    docstring), in microseconds per record."""
    body = samples.sample(sample).read_bytes()
    routing = load_routing(ROUTING_FILE)
    offsets = count()

    def record() -> ConsumedRecord:
        # A fresh offset per record, as Kafka gives: the span's attributes are those of a real consumed record.
        return ConsumedRecord(
            value=body,
            headers={"alertmesh-source": "prometheus", "content-type": "application/json"},
            topic="alerts.raw",
            received_at=datetime.now(UTC),
            partition=0,
            offset=next(offsets),
        )

    with _tracing(mode) as flush:
        handle = _handler(mode, routing)
        best = float("inf")
        for _ in range(repeat):
            batch = [record() for _ in range(records)]
            started = time.process_time()
            for consumed in batch:
                handle(consumed)
            flush()
            best = min(best, time.process_time() - started)
    return best / records * 1e6


def _handler(mode: str, routing: RoutingTable) -> Callable[[ConsumedRecord], object]:
    if mode == "off":
        return lambda consumed: process(consumed, routing, MAX_BYTES)

    def traced(consumed: ConsumedRecord) -> None:
        # ingest's handler, one record at a time (it starts a batch's spans first, then processes, then ends them).
        span = record_spans.start(consumed)
        outcome = process(consumed, routing, MAX_BYTES, PARSERS, tracing.span_headers(span))
        record_spans.finish(span, consumed, outcome)

    return traced


@contextmanager
def _tracing(mode: str) -> Iterator[Callable[[], object]]:
    """Install the tracing ``mode`` asks for; yields what writes out the spans still queued."""
    if mode != "store":
        yield lambda: None
        return
    with tempfile.TemporaryDirectory(prefix="alertmesh-spans-") as directory:
        os.environ["ALERTMESH_TRACES_DIR"] = directory
        provider = tracing.setup("alertmesh-ingest")
        if provider is None:
            raise SystemExit("--tracing store: tracing is disabled here (OTEL_SDK_DISABLED?)")
        try:
            yield provider.force_flush
        finally:
            # Before the directory goes: the store would make it again for the spans still queued.
            provider.shutdown()


def main(argv: list[str] | None = None) -> None:
    """The command line (``argv``, default ``sys.argv``): print the best time per record of the sample."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", default="alertmanager-v4-firing.json")
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tracing", choices=MODES, default="off")
    parser.add_argument("--steps", action="store_true", help="each step's cost per record (bench.ingest_steps)")
    parser.add_argument(
        "--collector", choices=("tuned", "default"), default="tuned",
        help="with --steps: the garbage collector as ingest tunes it once started, or CPython's default",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.steps:
        steps = ingest_steps.measure(args.records, args.repeat, args.collector)
        print(ingest_steps.table(steps))
        print(f"best of {args.repeat}x{args.records} records, CPU time of this process, collector {args.collector}")
        return
    us = best_us_per_record(args.sample, args.records, args.repeat, args.tracing)
    suffix = "" if args.tracing == "off" else f", tracing {args.tracing}"
    print(
        f"{args.sample}: {us:.1f} us/record ({1e6 / us:,.0f} records/s), best of {args.repeat}x{args.records}{suffix}"
    )


if __name__ == "__main__":
    main()
