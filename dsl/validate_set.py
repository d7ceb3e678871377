"""Checks across the workflows validated together: unique names, and the workflows each one starts.

A workflow names others in ``error_handler`` and in the ``workflow`` arg of ``core.workflow.execute``. In a
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
