"""The pipeline micro-benchmark runs in each tracing mode and prints its figure (no timing is asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import ingest_steps
from bench.pipeline_micro import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("mode", "suffix"), [("off", " best of 1x20"), ("noop", ", tracing noop")])
def test_prints_microseconds_per_record(mode: str, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--records", "20", "--repeat", "1", "--tracing", mode])
    out = capsys.readouterr().out
    assert out.startswith("alertmanager-v4-firing.json: ") and " us/record (" in out
    assert out.rstrip().endswith(suffix)


def test_store_mode_writes_spans_and_cleans_up(tmp_path: Path) -> None:
    # Its own process: the store mode installs the process's one tracer provider.
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    env.pop("ALERTMESH_TRACES_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_micro", "--records", "20", "--repeat", "2", "--tracing", "store"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.rstrip().endswith("best of 2x20, tracing store")
    assert list(tmp_path.iterdir()) == []  # the temporary span store is gone


def test_steps_without_kafka_time_every_step_of_the_path(tmp_path: Path) -> None:
    # Its own process: the span store installs the process's one tracer provider.
    script = f"""
import json
from pathlib import Path
from bench import ingest_steps
from services.ingest.routing.table import load_routing
path = Path({str(tmp_path / "routing.yaml")!r})
path.write_text(ingest_steps.ROUTE)
steps, ready = ingest_steps.cpu_steps(20, 1, load_routing(path))
print(json.dumps({{"steps": {{s.name: s.us_per_record for s in steps}}, "ready": len(ready)}}))
"""
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    figures = json.loads(done.stdout.splitlines()[-1])
    steps = figures["steps"]
    for expected in ("parse: JSON (alertmanager.v4)", "route", "identity: key and event ids", "trigger: to_json",
                     "pipeline.process (parse to ready trigger)", "record span (tracing to the local span store)",
                     "dedup: decision (window on)"):  # fmt: skip
        assert expected in steps
    assert sum(name.startswith("parse: JSON + normalize (") for name in steps) == len(ingest_steps.FORMAT_SAMPLES)
    assert all(us > 0 for us in steps.values())
    assert figures["ready"] == 20  # every bench alert routed: the produce rows write real triggers


@pytest.mark.integration
def test_steps_table_includes_the_kafka_client(tmp_path: Path) -> None:
    # Its own process: the span store installs the process's one tracer provider.
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_micro", "--steps", "--records", "50", "--repeat", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    for row in ("| consume: fetch (aiokafka getmany) |", "| produce: trigger (ProducerPublisher, acks=all) |",
                "| produce: dedup state entry |"):  # fmt: skip
        assert row in done.stdout
