"""Each service's entry module imports with only its own image's extras (the dev venv has them all).

A fresh interpreter refuses the packages the service's image does not install, then imports what
``python -m <module>`` would run. An ingest module importing temporalio would pass every other test and crash
in its container; this catches it here. It also checks that every top-level package of the checkout the service
imports is one the Dockerfile copies into the image.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.build_context import context_patterns, copied_paths, excluded

REPO = Path(__file__).resolve().parents[2]
#: The extras of the service images: what one service's image lacks is another's extra.
SERVICE_EXTRAS = ("ingest", "webhook", "orchestrator", "executor")

BLOCKER = """
import importlib, importlib.abc, sys
FORBIDDEN = {forbidden!r}
class NotInThisImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in FORBIDDEN:
            raise ModuleNotFoundError(f"{{name}} is not installed in this image (EXTRAS={extras})")
        return None
sys.meta_path.insert(0, NotInThisImage())
importlib.import_module({module!r})
# The checkout's top-level packages the service imported: each must reach the image. Installed packages are not
# the checkout's, even when the environment they are installed in sits inside it (as .venv/ does).
import sysconfig
repo, installed = {repo!r}, (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])
print(sorted({{name.partition(".")[0] for name, m in list(sys.modules.items())
              if (getattr(m, "__file__", None) or "").startswith(repo + "/")
              and not (getattr(m, "__file__", None) or "").startswith(installed)}}))
"""


def import_name(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name).replace("-", "_")


def entry_module(module: str) -> str:
    """What ``python -m module`` executes: the module itself, or a package's ``__main__``."""
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} does not exist"
    return f"{module}.__main__" if spec.submodule_search_locations is not None else module


def test_entry_module_imports_with_only_its_extras(
    alertmesh_service: Any, services: dict[str, dict[str, Any]], pyproject: dict[str, Any]
) -> None:
    extras = services[alertmesh_service.name]["build"]["args"]["EXTRAS"]
    assert extras == alertmesh_service.extras, "compose builds the service with another extra"
    optional = pyproject["project"]["optional-dependencies"]
    provided = {import_name(line) for line in optional[extras]}
    heavy = {import_name(line) for name in SERVICE_EXTRAS for line in optional[name]}
    forbidden = sorted(heavy - provided)
    module = entry_module(alertmesh_service.module)
    code = BLOCKER.format(forbidden=forbidden, extras=extras, module=module, repo=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"RAY_USAGE_STATS_ENABLED": "0", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    imported = ast.literal_eval(result.stdout.splitlines()[-1])
    copied = {source.rstrip("/") for source in copied_paths()}
    assert set(imported) <= copied, f"{module} imports {sorted(set(imported) - copied)}, which the image lacks"
    patterns = context_patterns()
    for package in imported:
        assert not excluded(f"{package}/__init__.py", patterns), f".dockerignore keeps {package}/ out of the image"
