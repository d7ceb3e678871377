"""The Dockerfile, its build context, and the extras each service image installs."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.build_context import (
    context_patterns,
    copied_paths,
    copy_sources,
    dockerignore_patterns,
    excluded,
    files_under,
)

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
    assert instructions("WORKDIR") == ["/app"], "the package is built in /app"
    users = instructions("USER")
    assert users and users[-1] not in {"root", "0"}, "the services must not run as root"
    assert any(arg.startswith("EXTRAS") for arg in instructions("ARG"))


def test_installs_the_selected_extras_without_a_pip_cache() -> None:
    runs = " ".join(instructions("RUN"))
    assert 'pip install --no-cache-dir ".[${EXTRAS}]"' in runs


def test_the_copied_sources_are_removed_so_the_installed_package_runs() -> None:
    # `python -m services.ingest` in /app would import /app/services, not site-packages, if the copy stayed.
    [install] = [run for run in instructions("RUN") if "pip install" in run]
    assert install.endswith("&& rm -rf /app/*"), install


def test_copies_what_the_package_is_built_from() -> None:
    copied = {source.rstrip("/") for source in copied_paths()}
    assert {"pyproject.toml", "README.md", "schemas", "dsl", "services", "alertmesh"} <= copied
    missing = sorted(path for path in copied if not files_under(path))
    assert not missing, f"the image build would fail: {missing} not in the repository"


def test_every_file_the_dockerfile_copies_is_in_the_build_context() -> None:
    patterns = context_patterns()
    for source in copied_paths():
        names = files_under(source.rstrip("/"))
        assert names, f"COPY {source}: nothing in the repository"
        left_out = [name for name in names if excluded(name, patterns)]
        assert not left_out, f"COPY {source}: .dockerignore keeps {left_out[:5]} out of the build context"


def test_every_package_the_wheel_needs_is_copied(pyproject: dict[str, Any]) -> None:
    # pip builds the package in the image from what was copied: a top-level package pyproject lists but the
    # Dockerfile does not copy is missing from every image (bench is left out on purpose: no service runs it).
    copied = {source.rstrip("/") for source in copied_paths()}
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    found = {path.parent.name for path in REPO.glob("*/__init__.py")}
    packages = {name for name in found if any(fnmatch.fnmatch(name, pattern) for pattern in include)}
    assert packages - copied == {"bench"}, packages - copied


def test_dockerignore_drops_local_state() -> None:
    patterns = context_patterns()
    for path in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "services/__pycache__/x.pyc", ".alertmesh"):
        assert excluded(path, patterns), path
    for path in ("pyproject.toml", "README.md", "services/ingest/config.py", "services/ingest/defaults/routing.yaml"):
        assert not excluded(path, patterns), path


@pytest.mark.parametrize(
    ("ignore", "path", "left_out"),
    [
        ("*\n!services/\n", "services/ingest/app.py", False),  # a re-included folder brings its files
        ("*\n!services/\n", "dsl/model.py", True),  # a top-level folder nobody let in stays out
        ("*\n!services/\n**/__pycache__\n", "services/x/__pycache__/a.pyc", True),
        ("**/*.py[cod]\n", "a/b/c.pyc", True),
        ("**/*.py[cod]\n", "a/b/c.py", False),
        ("docs\n!docs/keep.md\n", "docs/keep.md", False),  # last match wins
        ("!docs/keep.md\ndocs\n", "docs/keep.md", True),
        ("/build/\n", "build/lib/x.py", True),  # leading and trailing slashes are dropped
        ("*.md\n", "docs/a.md", False),  # `*` stays within one segment
        ("**/*.md\n", "docs/a.md", True),
        ("# *\n", "anything", False),
    ],
)
def test_dockerignore_semantics(ignore: str, path: str, left_out: bool) -> None:
    assert excluded(path, dockerignore_patterns(ignore)) is left_out


def test_copy_lines_are_read_in_every_form() -> None:
    dockerfile = (
        "COPY a.txt b/ ./\n"
        "COPY --chown=1:1 --chmod=644 c/ c/\n"
        'COPY ["d e.txt", "/x/"]\n'
        "COPY --from=builder /wheels /wheels\n"
        "ADD https://example.org/f.tgz /f.tgz\n"
        "COPY f \\\n  g/\n"
    )
    assert copy_sources(dockerfile) == ["a.txt", "b/", "c/", "d e.txt", "f"]


def test_each_service_builds_an_existing_extra(services: Services, pyproject: dict[str, Any]) -> None:
    extras = pyproject["project"]["optional-dependencies"]
    for name in ("ingest", "webhook", "orchestrator", "executor", "ray-head", "ray-worker"):
        assert services[name]["build"]["context"] == "."
        assert build_extras(services[name]) in extras, name


def test_ingest_images_carry_no_ray_or_temporal(services: Services, pyproject: dict[str, Any]) -> None:
    for name in ("ingest", "webhook"):
        installed = requirements(pyproject, build_extras(services[name]))
        assert {"ray", "temporalio"}.isdisjoint(installed), name
        assert "faststream" in installed, name


def test_the_webhook_image_carries_the_web_framework_and_ingest_does_not(
    services: Services, pyproject: dict[str, Any]
) -> None:
    assert build_extras(services["webhook"]) == "webhook"
    assert {"fastapi", "uvicorn", "faststream"} <= set(requirements(pyproject, "webhook"))
    # The consumer serves /healthz and /metrics with the standard library (services.shared.health).
    assert {"fastapi", "uvicorn"}.isdisjoint(requirements(pyproject, build_extras(services["ingest"])))


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
