"""Loading the workflows directory at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.loader import WorkflowLoadError, load_workflows
from tests.conftest import REPO

GOOD = "name: {name}\nactions:\n  - ref: a\n    action: core.transform.reshape\n    args: {{value: 1}}\n"


def test_demo_workflow_loads() -> None:
    definitions = load_workflows(REPO / "workflows")
    triage = definitions["triage"]
    assert [a.ref for a in triage.actions] == ["extract_urls", "summary"]
    assert triage.returns == "${{ ACTIONS.summary.result }}"


def test_loads_yaml_and_yml(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(GOOD.format(name="one"))
    (tmp_path / "two.yml").write_text(GOOD.format(name="two"))
    (tmp_path / "notes.txt").write_text("ignored")
    assert sorted(load_workflows(tmp_path)) == ["one", "two"]


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD.format(name="ok"))
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(WorkflowLoadError, match=r"broken\.yaml: cannot read YAML"):
        load_workflows(tmp_path)


def test_invalid_definition_names_file_and_problem(tmp_path: Path) -> None:
    (tmp_path / "cyclic.yaml").write_text(
        "name: c\nactions:\n  - {ref: a, action: x, depends_on: [b]}\n  - {ref: b, action: x, depends_on: [a]}\n"
    )
    with pytest.raises(WorkflowLoadError, match=r"cyclic\.yaml: invalid workflow definition: .*cycle: a -> b -> a"):
        load_workflows(tmp_path)


def test_duplicate_names_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.format(name="same"))
    (tmp_path / "b.yaml").write_text(GOOD.format(name="same"))
    with pytest.raises(WorkflowLoadError, match=r"b\.yaml: workflow name 'same' is already defined in .*a\.yaml"):
        load_workflows(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(WorkflowLoadError, match="does not exist"):
        load_workflows(tmp_path / "absent")
