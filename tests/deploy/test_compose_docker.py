"""compose.yaml as Docker Compose itself reads it (needs a Docker engine)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NO_ENGINE = "no Docker engine on this machine: compose config validation needs one"


def docker_engine_reachable() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return False
    return info.returncode == 0


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
