"""The code stays lint-clean, formatted, type-checked (ruff, mypy strict with the pydantic plugin) and layered
(import-linter: the contracts in ``.importlinter``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy", "schemas", "dsl", "services", "alertmesh", "bench"],
        ["lint-imports", "--no-cache"],
    ],
    ids=["ruff-check", "ruff-format", "mypy", "layering"],
)
def test_tool_passes(command: list[str]) -> None:
    done = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_every_service_is_in_the_layering_contract() -> None:
    """A new service under ``services/`` must be named in the contract, or it would sit outside every layer."""
    config = (REPO / ".importlinter").read_text()
    services = {p.name for p in (REPO / "services").iterdir() if (p / "__init__.py").exists()} - {"shared"}
    layers = config.split("layers =", 1)[1]
    assert services, "no services found"
    assert all(f"services.{name}" in layers for name in services), (services, layers)
