"""The ``alertmesh`` commands as a user runs them: ``demo`` end to end, ``up`` against existing servers and its
clean shutdown, ``publish`` and ``results``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alertmesh.stack.embedded import free_port
from tests.conftest import TemporalServer
from tests.e2e.conftest import mesh_ports
from tests.e2e.mesh_process import REPO, MeshProcess, alive, descendants, processes_in_group

pytestmark = pytest.mark.integration


def test_demo_pushes_the_sample_alert_through_and_prints_its_result(tmp_path: Path) -> None:
    ports = [x for pair in mesh_ports().items() for x in pair]
    demo = MeshProcess(["demo", "--state-dir", str(tmp_path), *ports], env={}, log=tmp_path / "demo.log").start()
    assert demo.process is not None
    code = demo.process.wait(timeout=300)
    output = "\n".join(demo.lines)
    assert code == 0, output[-4000:]
    start = demo.lines.index("{")  # the result is printed as indented JSON, starting on a line of its own
    result = json.loads("\n".join(demo.lines[start : demo.lines.index("}", start) + 1]))
    assert result["type"] == "alertmesh.result.v1"
    assert result["data"]["status"] == "completed"
    assert "https://server.example.org" in json.dumps(result["data"]["returns"])
    assert "ready in" in output
    # Before the JSON, the summary for people: the workflow, each action with status and attempts, the total.
    summary = demo.lines[:start]
    head = next(i for i, line in enumerate(summary) if line.startswith(f"workflow {result['data']['workflow']} "))
    assert summary[head].startswith(f"workflow {result['data']['workflow']} COMPLETED in "), summary[head:]
    rows = summary[head + 2 :]
    assert rows[0].split() == ["action", "ref", "status", "attempts", "duration"], rows
    for report in result["data"]["actions"]:
        ref = report["ref"] if report.get("item") is None else f"{report['ref']}[{report['item']}]"
        cells = [report["action"], ref, report["status"], str(report["attempts"])]
        assert any(line.split()[:4] == cells for line in rows), (cells, rows)
    assert any(line.startswith("total ") and "from publishing the alert" in line for line in rows)
    # Then the alert's trace, as ``alertmesh trace`` prints it: one trace through every service to the result.
    [trace_head] = [i for i, line in enumerate(summary) if line.startswith("trace ")]
    hops = summary[trace_head:]
    services = {line.split()[2] for line in hops if line.strip()[:1].isdigit() and len(line.split()) > 3}
    assert {"ingest", "orchestrator", "executor"} <= services, hops
    assert any(line.startswith("result: completed, published to alertmesh.results") for line in hops), hops
    assert any(line.startswith("Temporal UI: http://") for line in hops), hops


def test_up_uses_existing_servers_and_stops_cleanly_on_sigterm(
    tmp_path: Path, kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TEMPORAL_ADDRESS": temporal_server.address}
    args = ["up", "--state-dir", str(tmp_path), "--webhook-port", str(free_port())]
    up = MeshProcess(args, env=env, log=tmp_path / "up.log").start()
    assert up.process is not None
    up.wait_for(r"ready in", timeout=240)
    started = up.pids()
    assert set(started) == {"ingest", "webhook", "orchestrator", "executor"}  # no embedded servers started
    assert f"Kafka bootstrap  {kafka_bootstrap}" in "\n".join(up.lines)
    family = descendants(up.process.pid)  # services plus what they spawned (Ray's processes among them)
    assert len(family) > len(started)

    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(timeout=90) == 0
    deadline = time.monotonic() + 10
    while (left := [p for p in family if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"orphans after shutdown: {left}"
    assert all(processes_in_group(pid) == [] for pid in started.values())


def test_publish_and_results_commands(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = f"results-cli-{free_port()}"
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    payload = tmp_path / "event.json"
    payload.write_text('{"hello": "results"}')

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "alertmesh.cli", *args], cwd=REPO, env={**os.environ, **env},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    published = cli("publish", str(payload), "--topic", topic)
    assert published.returncode == 0, published.stderr
    assert f"published to {topic}[" in published.stdout
    read = cli("results", "--topic", topic, "--count", "1", "--timeout", "20")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.splitlines()[0]) == {"hello": "results"}
    missing = cli("results", "--topic", topic, "--count", "2", "--timeout", "3")
    assert missing.returncode == 1  # asked for more than there is: says so by its exit code
