"""Sample payloads, one per source format, shipped with the ``alertmesh`` command and read from the installed
package (``importlib.resources``): ``alertmesh demo`` pushes ``DEMO_ALERT``, ``alertmesh up`` prints a curl line
posting it, and the benchmarks send it. ``DIRECTORY`` holds them all (``sample(name)`` names one)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# Paths, not resource handles: they are shown to people (curl's --data-binary @FILE) and passed as --alert FILE.
# pip installs a wheel unpacked, so the package's files are real files.
DIRECTORY = Path(str(files(__name__)))

#: An Alertmanager v4 webhook payload with one firing alert: the demo's and the benchmarks' alert.
DEMO_ALERT = DIRECTORY / "alertmanager-v4-firing.json"


def sample(name: str) -> Path:
    """The sample file ``name`` (e.g. ``grafana-v1-firing.json``)."""
    path = DIRECTORY / name
    if not path.is_file():
        raise FileNotFoundError(f"no sample {name!r} in {DIRECTORY}")
    return path
