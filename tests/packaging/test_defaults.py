"""Without a file setting, a service (and the mesh that starts them) uses the default shipped in its package; a
setting still wins. The environment names are unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertmesh.commands.route import default_routing_file
from alertmesh.reference.markdown import value_text
from alertmesh.stack.mesh import MeshSettings, plan
from services.ingest.config import IngestSettings
from services.ingest.defaults import ROUTING_FILE
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.defaults import WORKFLOWS_DIR

SETTINGS = ("INGEST_ROUTING_FILE", "INGEST_FIELD_MAPS_FILE", "ORCHESTRATOR_WORKFLOWS_DIR")


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_unset_settings_take_the_packaged_defaults(unset: pytest.MonkeyPatch, tmp_path: Path) -> None:
    unset.chdir(tmp_path)  # nothing is looked for in the working directory any more
    ingest = IngestSettings()
    assert (ingest.routing_file, ingest.field_maps_file) == (ROUTING_FILE, None)
    assert OrchestratorSettings().workflows_dir == WORKFLOWS_DIR
    assert default_routing_file() == ROUTING_FILE
    mesh = MeshSettings()
    assert (mesh.routing_file, mesh.workflows_dir) == (ROUTING_FILE, WORKFLOWS_DIR)
    assert ROUTING_FILE.is_absolute() and ROUTING_FILE.is_file()
    assert WORKFLOWS_DIR.is_absolute() and sorted(WORKFLOWS_DIR.glob("*.yaml"))


def test_a_set_file_still_wins(unset: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rules, maps, workflows = tmp_path / "rules.yaml", tmp_path / "maps.yaml", tmp_path / "workflows"
    unset.setenv("INGEST_ROUTING_FILE", str(rules))
    unset.setenv("INGEST_FIELD_MAPS_FILE", str(maps))
    unset.setenv("ORCHESTRATOR_WORKFLOWS_DIR", str(workflows))
    ingest = IngestSettings()
    assert (ingest.routing_file, ingest.field_maps_file) == (rules, maps)
    assert OrchestratorSettings().workflows_dir == workflows
    assert default_routing_file() == rules
    mesh = MeshSettings()
    assert (mesh.routing_file, mesh.workflows_dir) == (rules, workflows)


def test_the_mesh_hands_the_services_the_packaged_defaults(unset: pytest.MonkeyPatch, tmp_path: Path) -> None:
    unset.chdir(tmp_path)
    [ingest, _, orchestrator, _] = plan(MeshSettings(state_dir=tmp_path / "state")).services
    assert ingest.env["INGEST_ROUTING_FILE"] == str(ROUTING_FILE)
    assert orchestrator.env["ORCHESTRATOR_WORKFLOWS_DIR"] == str(WORKFLOWS_DIR)


def test_the_reference_page_names_a_packaged_default_by_its_package_path() -> None:
    # docs/reference/environment.md is generated and checked for being current: no machine's install path in it.
    assert value_text(ROUTING_FILE) == "<packages>/services/ingest/defaults/routing.yaml"
    assert value_text(WORKFLOWS_DIR) == "<packages>/services/orchestrator/defaults/workflows"
    assert value_text(Path("routing.yaml")) == "routing.yaml"
