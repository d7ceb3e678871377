"""The workflows the orchestrator ships with, read from the installed package (``importlib.resources``), so an
install finds them wherever it runs: ``WORKFLOWS_DIR``, used when ``ORCHESTRATOR_WORKFLOWS_DIR`` is unset."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The loader lists a folder and names files in its problems, so the settings hold a file system path, not a
# resource handle. pip installs a wheel unpacked, so the package's files are real files.
_HERE = Path(str(files(__name__)))

#: The demo workflows (``triage``, ``triage-playbook``), which the default routing rules start.
WORKFLOWS_DIR = _HERE / "workflows"
