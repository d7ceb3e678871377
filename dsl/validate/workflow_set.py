"""Checks across the workflows validated together: unique names, and the workflows each one starts.

A workflow names others in ``error_handler`` and in the ``workflow`` arg of ``core.workflow.execute`` (whose
literal ``inputs`` must hold the child's required inputs). In a
closed set (the orchestrator's folder, or the files and folders given to ``alertmesh validate`` together) a name
must be one of the set; one file validated alone is an open set: the names it uses are not checked, since the
folder it will run from is not known. Child calls must not form a cycle (a run would start itself forever), nor
may error handlers (each failing handler would start the next).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dsl.graph import find_cycle
from dsl.model import CHILD_WORKFLOW_ACTION, WorkflowDefinition
from dsl.problems import Path, Problem, shift_action_index


@dataclass(frozen=True)
class Member:
    """One workflow of the set: where it came from, and its (possibly salvaged) definition."""

    source: str
    definition: WorkflowDefinition
    action_indexes: list[int]


def check_set(members: Sequence[Member], *, closed: bool) -> dict[str, list[Problem]]:
    """Problems by source: repeated names, unknown workflows (closed sets only), cycles of calls."""
    found: dict[str, list[Problem]] = {member.source: [] for member in members}
    by_name: dict[str, Member] = {}
    for member in members:
        name = member.definition.name
        if name in by_name:
            message = f"workflow name '{name}' is already defined in {by_name[name].source}"
            found[member.source].append(Problem(("name",), message))
        else:
            by_name[name] = member
    for member in by_name.values():
        for path, name in _named(member.definition):
            if closed and name not in by_name:
                known = ", ".join(sorted(by_name))
                found[member.source].append(Problem(path, f"no workflow named '{name}' (known: {known})"))
        found[member.source] += _missing_inputs(member.definition, by_name)
    for label, edges in (("child workflows", _children), ("error handlers", _handlers)):
        graph = {name: [target for _, target in edges(member.definition)] for name, member in by_name.items()}
        cycle = find_cycle(graph)
        if cycle is not None and (label == "child workflows" or len(cycle) > 2):
            first = by_name[cycle[0]]
            path = next(path for path, target in edges(first.definition) if target == cycle[1])
            found[first.source].append(Problem(path, f"{label} form a cycle: {' -> '.join(cycle)}"))
    return {
        member.source: [shift_action_index(problem, member.action_indexes) for problem in found[member.source]]
        for member in members
    }


def _missing_inputs(definition: WorkflowDefinition, by_name: dict[str, Member]) -> list[Problem]:
    """Required inputs (``entrypoint.expects`` without a default) of a known child that a literal ``inputs``
    leaves out; a templated ``inputs`` is only known once rendered."""
    problems: list[Problem] = []
    for path, name in _children(definition):
        args = definition.actions[int(path[1])].args
        inputs = args.get("inputs", {})
        if name not in by_name or not isinstance(inputs, dict):
            continue
        at = (*path[:-1], "inputs") if "inputs" in args else path[:-1]
        for input_name, expected in by_name[name].definition.entrypoint.expects.items():
            if expected.required and input_name not in inputs:
                problems.append(Problem(at, f"workflow '{name}' needs input '{input_name}' (it has no default)"))
    return problems


def _named(definition: WorkflowDefinition) -> list[tuple[Path, str]]:
    return [*_handlers(definition), *_children(definition)]


def _handlers(definition: WorkflowDefinition) -> list[tuple[Path, str]]:
    return [(("error_handler",), definition.error_handler)] if definition.error_handler else []


def _children(definition: WorkflowDefinition) -> list[tuple[Path, str]]:
    """``(path, name)`` of every literal workflow name a ``core.workflow.execute`` action starts."""
    return [
        (("actions", i, "args", "workflow"), statement.args["workflow"])
        for i, statement in enumerate(definition.actions)
        if statement.action == CHILD_WORKFLOW_ACTION
        and isinstance(statement.args.get("workflow"), str)
        and "${{" not in statement.args["workflow"]
    ]
