"""The wheel carries every default file the code reads through importlib.resources, each in one place."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alertmesh import samples
from schemas import jsonschema
from services.ingest.defaults import FIELD_MAPS_FILE, ROUTING_FILE
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.checkout import checkout_files
from tests.packaging.install import REPO, wheel_files


def packaged_defaults() -> list[Path]:
    """Every file the code finds in its own packages: routing, field maps, workflows, samples, event schemas."""
    files = [
        ROUTING_FILE,
        FIELD_MAPS_FILE,
        *WORKFLOWS_DIR.glob("*.yaml"),
        *samples.DIRECTORY.glob("*.json"),
        *jsonschema.DIRECTORY.glob("*.json"),
    ]
    assert all(path.is_file() for path in files), [path for path in files if not path.is_file()]
    return files


def test_the_defaults_are_files_of_their_packages() -> None:
    names = {path.relative_to(REPO).as_posix() for path in packaged_defaults()}
    assert {
        "services/ingest/defaults/routing.yaml",
        "services/ingest/defaults/field-maps.yaml",
        "services/orchestrator/defaults/workflows/triage.yaml",
        "services/orchestrator/defaults/workflows/triage-playbook.yaml",
        "alertmesh/samples/alertmanager-v4-firing.json",
        "alertmesh/samples/cloudevents-structured.json",
        "alertmesh/samples/generic-edr-detections.json",
        "alertmesh/samples/grafana-v1-firing.json",
    } <= names
    assert samples.sample("alertmanager-v4-firing.json") == samples.DEMO_ALERT


def test_every_packaged_default_is_in_the_wheel(wheel: Path) -> None:
    shipped = wheel_files(wheel)
    missing = sorted(name for path in packaged_defaults() if (name := path.relative_to(REPO).as_posix()) not in shipped)
    assert not missing, f"{wheel.name} lacks {missing}: add them to [tool.setuptools.package-data]"


def test_no_default_has_a_second_copy_in_the_repository() -> None:
    # One place for each file: a copy elsewhere (the old top-level routing.yaml, workflows/, samples/) would be
    # edited in one place and read from the other. The manual's examples are its own files (tests/docs checks
    # each against the code that reads it), so one may equal a default.
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    defaults = {digest(path): path.relative_to(REPO).as_posix() for path in packaged_defaults()}
    names = [name for name in checkout_files() if not name.startswith("docs/examples/")]
    copies = [(name, defaults[d]) for name in names if (d := digest(REPO / name)) in defaults]
    assert all(name == original for name, original in copies), [c for c in copies if c[0] != c[1]]
    back = [name for name in names if name.split("/")[0] in {"routing.yaml", "field-maps.yaml", "workflows", "samples"}]
    assert not back, f"{back} at the top level again: each default lives in its package"
