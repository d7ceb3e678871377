"""The pipeline micro-benchmark runs in each tracing mode and prints its figure (no timing is asserted)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
