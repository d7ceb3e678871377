"""Micro-benchmark of ingest's hot path: ``pipeline.process`` on one real sample, no Kafka.

``python -m bench.pipeline_micro [--sample NAME] [--records N] [--repeat R]`` prints the best of R runs in
microseconds per record (and records per second), for comparing a change to the parsers or the pipeline. The time
is this process's CPU time: on a shared machine, wall time mostly measures the other processes.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from services.ingest.pipeline import process
from services.ingest.routing import load_routing
from services.shared.deadletter import ConsumedRecord

REPO = Path(__file__).resolve().parents[1]


def best_us_per_record(sample: str, records: int, repeat: int) -> float:
    """Best-of-``repeat`` time of ``records`` calls of ``process`` on the sample, in microseconds per record."""
    body = (REPO / "samples" / sample).read_bytes()
    record = ConsumedRecord(
        value=body,
        headers={"alertmesh-source": "prometheus", "content-type": "application/json"},
        topic="alerts.raw",
        received_at=datetime.now(UTC),
    )
    routing = load_routing(REPO / "routing.yaml")
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(records):
            process(record, routing, 1_048_576)
        best = min(best, time.process_time() - started)
    return best / records * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", default="alertmanager-v4-firing.json")
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    us = best_us_per_record(args.sample, args.records, args.repeat)
    print(f"{args.sample}: {us:.1f} us/record ({1e6 / us:,.0f} records/s), best of {args.repeat}x{args.records}")


if __name__ == "__main__":
    main()
