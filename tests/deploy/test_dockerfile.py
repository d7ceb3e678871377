"""The Dockerfile, its build context, and the extras each service image installs."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
Services = dict[str, dict[str, Any]]


def instructions(keyword: str) -> list[str]:
    """Arguments of every ``keyword`` instruction in the Dockerfile (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line.split(None, 1) for line in joined.splitlines() if not line.lstrip().startswith("#")]
    return [parts[1] for parts in lines if len(parts) == 2 and parts[0] == keyword]


def requirements(pyproject: dict[str, Any], extras: str) -> dict[str, Requirement]:
    """What ``pip install ".[extras]"`` asks for, by name, following the project's references to itself."""
    project = pyproject["project"]
    lines = list(project["dependencies"])
    todo, done = [extras], set()
    while todo:
        extra = todo.pop()
        if extra in done:
            continue
        done.add(extra)
        for line in project["optional-dependencies"][extra]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                todo += sorted(requirement.extras)
            else:
                lines.append(line)
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def build_extras(service: dict[str, Any]) -> str:
    return str(service["build"]["args"]["EXTRAS"])


def test_base_image_user_and_environment() -> None:
    assert instructions("FROM") == ["python:3.11-slim"]
    assert "PYTHONUNBUFFERED=1" in " ".join(instructions("ENV"))
    assert instructions("WORKDIR") == ["/app"], "routing.yaml and workflows/ are found relative to /app"
    users = instructions("USER")
    assert users and users[-1] not in {"root", "0"}, "the services must not run as root"
    assert any(arg.startswith("EXTRAS") for arg in instructions("ARG"))


def test_installs_the_selected_extras_without_a_pip_cache() -> None:
    runs = " ".join(instructions("RUN"))
    assert 'pip install --no-cache-dir ".[${EXTRAS}]"' in runs


def test_copies_what_the_package_and_the_services_need() -> None:
    copied = {source.rstrip("/") for copy in instructions("COPY") for source in copy.split()[:-1]}
    needed = {"pyproject.toml", "README.md", "schemas", "dsl", "services", "alertmesh", "routing.yaml", "workflows"}
    assert copied == needed
    missing = sorted(path for path in copied if not (REPO / path).exists())
    assert not missing, f"the image build would fail: {missing} not in the repository"


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (last matching pattern wins)."""
    parents = [str(Path(*Path(path).parts[:n])) for n in range(1, len(Path(path).parts) + 1)]
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatch(candidate, glob) for candidate in parents):
            result = not negated
    return result


def test_dockerignore_keeps_copied_files_and_drops_local_state() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for path in ("pyproject.toml", "README.md", "routing.yaml", "services/ingest/config.py", "workflows/x.yaml"):
        assert not ignored(path, patterns), path
    for path in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "services/__pycache__/x.pyc", ".alertmesh"):
        assert ignored(path, patterns), path


def test_each_service_builds_an_existing_extra(services: Services, pyproject: dict[str, Any]) -> None:
    extras = pyproject["project"]["optional-dependencies"]
    for name in ("ingest", "webhook", "orchestrator", "executor", "ray-head", "ray-worker"):
        assert services[name]["build"]["context"] == "."
        assert build_extras(services[name]) in extras, name


def test_ingest_images_carry_no_ray_or_temporal(services: Services, pyproject: dict[str, Any]) -> None:
    for name in ("ingest", "webhook"):
        installed = requirements(pyproject, build_extras(services[name]))
        assert {"ray", "temporalio"}.isdisjoint(installed), name
        assert {"fastapi", "uvicorn", "faststream"} <= set(installed), name


def test_orchestrator_image_carries_temporal_but_not_ray(services: Services, pyproject: dict[str, Any]) -> None:
    installed = requirements(pyproject, build_extras(services["orchestrator"]))
    assert "temporalio" in installed and "ray" not in installed


def test_ray_nodes_and_executor_share_one_image_with_the_ray_client(
    services: Services, pyproject: dict[str, Any]
) -> None:
    build = services["executor"]["build"]
    assert services["ray-head"]["build"] == build and services["ray-worker"]["build"] == build
    installed = requirements(pyproject, build_extras(services["executor"]))
    assert "temporalio" in installed
    # RAY_ADDRESS=ray://... and `ray start --ray-client-server-port` both refuse to run without ray[client].
    assert "client" in installed["ray"].extras
