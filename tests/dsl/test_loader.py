"""Loading the workflows directory at start-up: all valid, or every problem as ``file:line:col: message``."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.loader import UnreadableInput, WorkflowLoadError, load_definition, load_workflows
from services.executor.catalog import action_catalog
from services.orchestrator.defaults import WORKFLOWS_DIR

GOOD = "name: {name}\nactions:\n  - ref: a\n    action: core.transform.reshape\n    args: {{value: 1}}\n"


def test_demo_workflow_loads() -> None:
    definitions = load_workflows(WORKFLOWS_DIR, action_catalog)
    triage = definitions["triage"]
    assert [a.ref for a in triage.actions] == ["extract_urls", "summary"]
    assert triage.returns == "${{ ACTIONS.summary.result }}"


def test_loads_yaml_and_yml(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(GOOD.format(name="one"))
    (tmp_path / "two.yml").write_text(GOOD.format(name="two"))
    (tmp_path / "notes.txt").write_text("ignored")
    assert sorted(load_workflows(tmp_path, action_catalog)) == ["one", "two"]


def test_invalid_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD.format(name="ok"))
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflows(tmp_path, action_catalog)
    assert caught.value.lines == [
        f"{tmp_path / 'broken.yaml'}:2:1: invalid YAML: while parsing a flow sequence "
        "expected ',' or ']', but got '<stream end>'"
    ]


def test_every_problem_of_every_file_is_listed(tmp_path: Path) -> None:
    (tmp_path / "cyclic.yaml").write_text(
        "name: c\nactions:\n"
        "  - {ref: a, action: core.transform.reshape, depends_on: [b], args: {value: 1}}\n"
        "  - {ref: b, action: core.transform.reshape, depends_on: [a], args: {value: 1, extra: 2}}\n"
    )
    (tmp_path / "other.yaml").write_text("name: o\nactions:\n  - {ref: a, action: nope}\n")
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflows(tmp_path, action_catalog)
    cyclic, other = tmp_path / "cyclic.yaml", tmp_path / "other.yaml"
    assert caught.value.lines == [
        f"{cyclic}:3:58: dependency cycle: a -> b -> a",
        f"{cyclic}:4:80: core.transform.reshape has no arg 'extra' (it takes value)",
        f"{other}:3:22: unknown action 'nope' (actions of a package load through the 'alertmesh.actions' entry "
        "points or EXECUTOR_ACTION_MODULES)",
    ]
    assert str(caught.value).startswith("invalid workflow definitions (3 problems):\n")


def test_duplicate_names_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.format(name="same"))
    (tmp_path / "b.yaml").write_text(GOOD.format(name="same"))
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflows(tmp_path, action_catalog)
    assert caught.value.lines == [
        f"{tmp_path / 'b.yaml'}:1:7: workflow name 'same' is already defined in {tmp_path / 'a.yaml'}"
    ]


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="does not exist"):
        load_workflows(tmp_path / "absent", action_catalog)


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(UnreadableInput, match=r"latin1\.yaml: cannot read it: not UTF-8 text"):
        load_workflows(tmp_path, action_catalog)


def test_load_definition_does_not_resolve_other_workflows(tmp_path: Path) -> None:
    """One file alone is an open set: the workflows it starts live in the folder it will run from."""
    path = tmp_path / "parent.yaml"
    path.write_text(
        "name: parent\nerror_handler: on-fail\nactions:\n"
        "  - {ref: child, action: core.workflow.execute, args: {workflow: elsewhere}}\n"
    )
    assert load_definition(path, action_catalog).error_handler == "on-fail"
    with pytest.raises(WorkflowLoadError, match="no workflow named 'on-fail'"):
        load_workflows(tmp_path, action_catalog)


def test_dates_stay_strings(tmp_path: Path) -> None:
    """A workflow is JSON data: YAML's implicit timestamps would hand actions a datetime."""
    path = tmp_path / "dated.yaml"
    path.write_text(
        "name: dated\nactions:\n  - ref: a\n    action: core.transform.reshape\n"
        "    wait_until: 2026-01-31T09:00:00Z\n    args: {value: 2026-01-31}\n"
    )
    statement = load_definition(path, action_catalog).actions[0]
    assert (statement.wait_until, statement.args) == ("2026-01-31T09:00:00Z", {"value": "2026-01-31"})
