"""Whether tests that need a Docker engine (marker ``docker``) can run here."""

from __future__ import annotations

import shutil
import subprocess


def docker_engine_reachable() -> bool:
    """True when ``docker info`` answers: a client alone (as on this machine) is not enough."""
    if shutil.which("docker") is None:
        return False
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return False
    return info.returncode == 0
