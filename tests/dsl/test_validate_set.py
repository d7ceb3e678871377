"""Checks across the workflows validated together: names, child workflows and error handlers, cycles of calls."""

from __future__ import annotations

from pathlib import Path

from tests.dsl.validate_helpers import problems


def workflow(name: str, *, handler: str | None = None, children: tuple[str, ...] = ()) -> str:
    """A valid workflow named ``name`` that starts ``children`` (one action each) and has ``handler``."""
    lines = [f"name: {name}"]
    if handler is not None:
        lines.append(f"error_handler: {handler}")
    lines += ["actions:", "  - {ref: a, action: core.transform.reshape, args: {value: 1}}"]
    lines += [
        f"  - {{ref: c{i}, action: core.workflow.execute, args: {{workflow: {c}}}}}" for i, c in enumerate(children)
    ]
    return "\n".join(lines) + "\n"


def test_names_must_be_unique(tmp_path: Path) -> None:
    assert problems(tmp_path, workflow("same"), workflow("same")) == [
        f"o0.yaml:1:7: workflow name 'same' is already defined in {tmp_path / 'w.yaml'}"
    ]


def test_unknown_error_handler_and_child_in_a_closed_set(tmp_path: Path) -> None:
    text = workflow("parent", handler="on-failure", children=("enrich",))
    assert problems(tmp_path, text, workflow("other")) == [
        "w.yaml:2:16: no workflow named 'on-failure' (known: other, parent)",
        "w.yaml:5:63: no workflow named 'enrich' (known: other, parent)",
    ]
    assert problems(tmp_path, text, workflow("on-failure"), workflow("enrich")) == []


def test_one_file_alone_does_not_resolve_names(tmp_path: Path) -> None:
    """The folder it will run from is not known; the folder case (closed) does resolve them."""
    text = workflow("parent", handler="on-failure", children=("enrich",))
    assert problems(tmp_path, text) == []
    assert len(problems(tmp_path, text, closed=True)) == 2


def test_a_cycle_of_child_workflows(tmp_path: Path) -> None:
    found = problems(
        tmp_path, workflow("a", children=("b",)), workflow("b", children=("c",)), workflow("c", children=("a",))
    )
    assert found == ["w.yaml:4:63: child workflows form a cycle: a -> b -> c -> a"]


def test_a_workflow_that_starts_itself(tmp_path: Path) -> None:
    assert problems(tmp_path, workflow("a", children=("a",))) == ["w.yaml:4:63: child workflows form a cycle: a -> a"]


def test_a_cycle_of_error_handlers(tmp_path: Path) -> None:
    """Each failing handler would start the next, forever."""
    assert problems(tmp_path, workflow("a", handler="b"), workflow("b", handler="a")) == [
        "w.yaml:2:16: error handlers form a cycle: a -> b -> a"
    ]


def test_an_invalid_file_still_takes_part_in_the_set(tmp_path: Path) -> None:
    """A workflow with a problem of its own is still known by name: no cascade of 'no workflow named'."""
    broken = workflow("child") + "  - {ref: b, action: core.nope}\n"
    found = problems(tmp_path, workflow("parent", children=("child",)), broken)
    assert [line.split(": ", 1)[1] for line in found] == [
        "unknown action 'core.nope' (actions of a package load through the 'alertmesh.actions' entry points or "
        "EXECUTOR_ACTION_MODULES)"
    ]


def test_a_child_without_its_required_inputs(tmp_path: Path) -> None:
    parent = """\
    name: parent
    actions:
      - {ref: a, action: core.workflow.execute, args: {workflow: child, inputs: {team: x}}}
      - {ref: b, action: core.workflow.execute, args: {workflow: child}}
      - {ref: c, action: core.workflow.execute, args: {workflow: child, inputs: "${{ TRIGGER.inputs }}"}}
    """
    child = """\
    name: child
    entrypoint:
      expects:
        team: {type: str}
        host: {type: str}
        level: {type: int, default: 1}
    actions:
      - {ref: a, action: core.transform.reshape, args: {value: 1}}
    """
    assert problems(tmp_path, parent, child) == [
        "w.yaml:3:77: workflow 'child' needs input 'host' (it has no default)",
        "w.yaml:4:51: workflow 'child' needs input 'host' (it has no default)",
        "w.yaml:4:51: workflow 'child' needs input 'team' (it has no default)",
    ]
