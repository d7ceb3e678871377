"""``pip install`` of the wheel (not editable), then the ``alertmesh`` command from another directory: it finds its
default files in the installed packages, never in the checkout or the working directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from alertmesh.stack.embedded import free_port
from tests.packaging.install import REPO, FreshVenv

WHERE = """
import json, sys
import alertmesh, alertmesh.samples, dsl, schemas, services, services.ingest.defaults, services.orchestrator.defaults
print(json.dumps({
    "modules": [m.__file__ for m in (alertmesh, dsl, schemas, services)],
    "routing": str(services.ingest.defaults.ROUTING_FILE),
    "workflows": str(services.orchestrator.defaults.WORKFLOWS_DIR),
    "demo": str(alertmesh.samples.DEMO_ALERT),
    "path": sys.path,
}))
"""


def test_the_installed_packages_and_their_defaults_come_from_the_fresh_venv(
    fresh_venv: FreshVenv, tmp_path: Path
) -> None:
    done = subprocess.run(
        [fresh_venv.python, "-c", WHERE],
        cwd=tmp_path,
        env=fresh_venv.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    site = str(fresh_venv.site_packages)
    for file in [*found["modules"], found["routing"], found["workflows"], found["demo"]]:
        assert file.startswith(site + "/"), file
    # The checkout itself is not on the path (its environment's site-packages may sit inside it, as .venv/ does).
    assert all(entry and Path(entry).resolve() != REPO.resolve() for entry in found["path"][1:]), found["path"]
    assert Path(found["routing"]).is_file() and Path(found["demo"]).is_file()
    assert sorted(Path(found["workflows"]).glob("*.yaml"))


def test_route_reads_the_installed_routing_file_from_any_directory(fresh_venv: FreshVenv, tmp_path: Path) -> None:
    sample = fresh_venv.site_packages / "alertmesh" / "samples" / "alertmanager-v4-firing.json"
    done = subprocess.run(
        [fresh_venv.alertmesh, "route", sample],
        cwd=tmp_path,
        env=fresh_venv.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    routing = fresh_venv.site_packages / "services" / "ingest" / "defaults" / "routing.yaml"
    assert done.stdout.splitlines()[0] == f"routing file {routing}: 4 rules, default dead-letter"
    assert "    + critical        matched -> workflow triage" in done.stdout.splitlines()


@pytest.mark.integration
def test_demo_runs_from_another_directory_after_a_regular_install(fresh_venv: FreshVenv, tmp_path: Path) -> None:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    ports = ["--kafka-port", "--temporal-port", "--temporal-ui-port", "--webhook-port"]
    args = [str(x) for name in ports for x in (name, free_port())]
    done = subprocess.run(
        [fresh_venv.alertmesh, "demo", "--state-dir", str(tmp_path / "state"), *args],
        cwd=workdir,
        env=fresh_venv.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=420,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout[-4000:]
    start = lines.index("{")  # the result is printed as indented JSON, starting on a line of its own
    result = json.loads("\n".join(lines[start : lines.index("}", start) + 1]))
    assert result["type"] == "alertmesh.result.v1"
    assert result["data"]["status"] == "completed"
    assert result["data"]["workflow"] == "triage"  # the packaged routing rules chose the packaged workflow
    assert "https://server.example.org" in json.dumps(result["data"]["returns"])
    assert "ready in" in done.stdout
    assert list(workdir.iterdir()) == []  # nothing was looked for, or left, in the working directory


def test_an_installed_copy_writes_its_documents_to_the_working_directory(fresh_venv: FreshVenv, tmp_path: Path) -> None:
    # In a checkout they go to its root (beside pyproject.toml); an install must never write into site-packages.
    code = "from alertmesh.asyncapi import generate; from bench import options\n"
    code += "print(generate.DOCUMENT, options.DEFAULT_OUT)"
    command = [fresh_venv.python, "-c", code]
    done = subprocess.run(command, cwd=tmp_path, env=fresh_venv.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path.resolve() / "asyncapi.yaml"), str(tmp_path.resolve())]


def test_an_installed_copy_writes_the_reference_pages_under_the_working_directory(
    fresh_venv: FreshVenv, tmp_path: Path
) -> None:
    code = "from alertmesh import reference; print(reference.DEFAULT_OUT_DIR)"
    command = [fresh_venv.python, "-c", code]
    done = subprocess.run(command, cwd=tmp_path, env=fresh_venv.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path.resolve() / "docs" / "reference")
