"""``alertmesh bench --quick`` as a user runs it: the whole embedded mesh, the raw baselines, every section.

Proves the harness works (every figure is measured, the files are written); it asserts no speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIELDS = (
    "ingest_alerts_per_s",
    "ingest_vs_raw",
    "e2e_alerts_per_s",
    "e2e_vs_raw_temporal",
    "p50_ms",
    "p99_ms",
    "fanout32_vs_single",
    "idle_rss_mb",
    "ready_s",
    "raw_copy_per_s",
    "raw_temporal_alerts_per_s",
    "mesh_action_activity_ms",
    "mesh_action_ms",
    "raw_activity_ms",
    "ray_round_trip_ms",
    "load_rss_mb",
    "temporal_ceiling_alerts_per_s",
    "e2e_vs_temporal_ceiling",
)


@pytest.mark.timeout(900)
def test_quick_bench_measures_every_section(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "alertmesh.cli", "bench", "--quick", "--out", str(out)]
    done = subprocess.run(
        command, cwd=REPO, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}, capture_output=True, text=True
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    missing = [name for name in FIELDS if not isinstance(summary.get(name), int | float)]
    assert not missing, f"not measured: {missing}\n{output[-4000:]}"
    assert summary["e2e_alerts_per_s"] > 0 and summary["ingest_alerts_per_s"] > 0  # results did arrive
    text = (out / "BENCHMARKS.md").read_text()
    assert f"alertmesh bench --quick --out {out}" in text
    for section in (
        "## Machine",
        "## Ingest",
        "## Against Temporal alone",
        "## End to end",
        "## Dispatch",
        "## Fan-out",
        "## Footprint",
    ):
        assert section in text
    for plot in ("bench-throughput.png", "bench-latency-cdf.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Progress was shown while it ran.
    assert "bench        | mesh ready in" in done.stdout
    # The ceiling ran first, before the mesh started: Temporal had the machine to itself.
    assert done.stdout.index("Temporal ceiling: ") < done.stdout.index("mesh ready in")
