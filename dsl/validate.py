"""Checks that need the whole definition: refs, edges, cycles, and which actions each expression may read.

Each problem names where it is as a path into the document (``("actions", 2, "depends_on", 0)``), so the loader
can point at its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dsl.expressions import Expression, TemplateSyntaxError, expressions_in
from dsl.graph import find_cycle, upstream
from dsl.model import WorkflowDefinition

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, and where."""

    path: Path
    message: str


def check_definition(definition: WorkflowDefinition) -> list[Problem]:
    """Every problem found, in document order; empty when the definition can run."""
    problems: list[Problem] = []
    refs = [action.ref for action in definition.actions]
    seen: set[str] = set()
    for i, action in enumerate(definition.actions):
        if action.ref in seen:
            problems.append(Problem(("actions", i, "ref"), f"duplicate action ref '{action.ref}'"))
        seen.add(action.ref)
        for j, (ref, _) in enumerate(action.edges()):
            if ref not in refs:
                problems.append(Problem(("actions", i, "depends_on", j), f"depends on unknown ref '{ref}'"))
    if problems:
        return problems
    edges = definition.dependencies()
    cycle = find_cycle(edges)
    if cycle:
        at = refs.index(cycle[0])
        return [Problem(("actions", at, "depends_on"), f"dependency cycle: {' -> '.join(cycle)}")]
    for i, action in enumerate(definition.actions):
        allowed = upstream(action.ref, edges)
        for expression in _expressions(action.args, ("actions", i, "args"), problems):
            outside = sorted(expression.refs - allowed)
            if outside:
                problems.append(
                    Problem(
                        ("actions", i, "args"),
                        f"'${{{{ {expression.text} }}}}' reads '{outside[0]}', which is not upstream of "
                        f"'{action.ref}' (add it to depends_on)",
                    )
                )
    for expression in _expressions(definition.returns, ("returns",), problems):
        unknown = sorted(expression.refs - set(refs))
        if unknown:
            problems.append(Problem(("returns",), f"'${{{{ {expression.text} }}}}': no action '{unknown[0]}'"))
    return problems


def _expressions(value: Any, path: Path, problems: list[Problem]) -> list[Expression]:
    try:
        return expressions_in(value)
    except TemplateSyntaxError as error:
        problems.append(Problem(path, str(error)))
        return []
