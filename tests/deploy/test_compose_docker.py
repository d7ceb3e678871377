"""compose.yaml as Docker Compose itself reads it (needs a Docker engine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.docker_engine import docker_engine_reachable

REPO = Path(__file__).resolve().parents[2]
NO_ENGINE = "no Docker engine on this machine: compose config validation needs one"


@pytest.mark.docker
def test_docker_compose_accepts_the_file() -> None:
    if not docker_engine_reachable():
        pytest.skip(NO_ENGINE)
    result = subprocess.run(
        ["docker", "compose", "-f", "compose.yaml", "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
