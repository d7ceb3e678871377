"""``alertmesh chaos`` as a user runs it: the whole embedded mesh, 200 alerts, 5 SIGKILLs from a fixed seed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^alerts=(\d+) lost=(\d+) duplicate_runs=(\d+) stuck=(\d+) dead_letters_ok=(\d+) kills=(\d+) "
    r"max_recovery_s=([\d.]+)$"
)


@pytest.mark.timeout(600)
def test_short_chaos_run_loses_nothing(tmp_path: Path) -> None:
    report = tmp_path / "chaos-report.md"
    command = [sys.executable, "-m", "alertmesh.cli", "chaos", "--alerts", "200", "--kills", "5", "--seed", "7"]
    command += ["--rate", "10", "--quiet-s", "30", "--state-dir", str(tmp_path / "state"), "--report", str(report)]
    done = subprocess.run(
        command, cwd=REPO, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}, capture_output=True, text=True
    )
    output = done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines, output[-4000:]
    summary = SUMMARY.match(lines[-1])
    assert summary, f"last line is not the summary: {lines[-1]!r}\n{output[-4000:]}"
    alerts, lost, duplicate_runs, stuck, dead_letters_ok, kills = map(int, summary.groups()[:6])
    assert (alerts, kills, dead_letters_ok) == (200, 5, 10), lines[-1]
    assert (lost, duplicate_runs, stuck) == (0, 0, 0), report.read_text() if report.exists() else output[-4000:]
    assert done.returncode == 0, report.read_text()
    text = report.read_text()
    assert "**PASS**" in text and "| ray-worker | SIGKILL |" in text
    # The schedule printed up front is the one the seed gives (same seed, same kills).
    assert "t+   0.2s  SIGKILL temporal" in done.stdout
    # Progress went to stderr (a plain line every few seconds: not a terminal here), never into stdout's lines.
    assert re.search(r"^chaos: published: \d+/\d+ \(\d+%\), results \d+", done.stderr, re.M), done.stderr[-2000:]
    assert "chaos: published:" not in done.stdout


REPLICAS_SUMMARY = re.compile(
    SUMMARY.pattern.rstrip("$") + r" max_reassign_s=([-\d.]+) max_served_s=([-\d.]+) reassign_limit_s=([\d.]+)$"
)


@pytest.mark.timeout(600)
def test_replicas_scenario_kills_a_replica_of_each_service_and_a_ray_node(tmp_path: Path) -> None:
    """Two replicas of ingest, orchestrator and executor and a two-node Ray cluster started with Ray's CLI; one
    replica of each and the Ray worker node SIGKILLed under load (about 70 s on a 2-core machine)."""
    report = tmp_path / "chaos-report.md"
    command = [sys.executable, "-m", "alertmesh.cli", "chaos", "--scenario", "replicas", "--alerts", "120"]
    command += ["--rate", "10", "--quiet-s", "20", "--state-dir", str(tmp_path / "state"), "--report", str(report)]
    done = subprocess.run(
        command, cwd=REPO, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}, capture_output=True, text=True
    )
    output = done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines, output[-4000:]
    summary = REPLICAS_SUMMARY.match(lines[-1])
    assert summary, f"last line is not the summary: {lines[-1]!r}\n{output[-4000:]}"
    alerts, lost, duplicate_runs, stuck, _, kills = map(int, summary.groups()[:6])
    reassign_s, served_s, limit_s = (float(summary.group(n)) for n in (8, 9, 10))
    text = report.read_text() if report.exists() else output[-4000:]
    assert (alerts, kills) == (120, 4), lines[-1]
    assert (lost, duplicate_runs, stuck) == (0, 0, 0), text
    assert 0 <= reassign_s <= limit_s and served_s >= 0, text
    assert done.returncode == 0, text
    assert "**PASS**" in text and "| ray-node-2 | SIGKILL |" in text
    for service in ("ingest", "orchestrator", "executor"):
        assert re.search(rf"\| {service}(-2)? \| SIGKILL \|", text), service
    # Every replica kept its own log file.
    logs = {path.name for path in (tmp_path / "state" / "logs").iterdir()}
    assert {"ingest.log", "ingest-2.log", "executor-2.log", "ray-head.log", "ray-node-2.log"} <= logs
