"""Everything that can be wrong with a workflow definition, each problem with its path into the document.

``check_document`` takes the YAML document as data (so unknown keys and wrong types are found too) and runs every
check on what is valid in it, so one run reports all problems at once; ``check_definition`` runs the checks that
need the whole definition on one already built. The loader points each path at its file, line and column; the
checks across several workflows (names, child workflows, error handlers) are in ``dsl.validate.workflow_set``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dsl.catalog import ActionCatalog
from dsl.graph import find_cycle
from dsl.input_types import matches
from dsl.model import WorkflowDefinition
from dsl.problems import Path, Problem, shift_action_index
from dsl.validate.args import check_actions
from dsl.validate.expressions import check_expressions
from dsl.validate.shape import Salvaged, salvage, shape_problems

__all__ = ["Checked", "Path", "Problem", "check_definition", "check_document"]


@dataclass(frozen=True)
class Checked:
    """A document's problems, and the definition built from its valid parts (None if too little is valid)."""

    problems: list[Problem]
    salvaged: Salvaged | None

    @property
    def definition(self) -> WorkflowDefinition | None:
        """The definition, when the document has no problem at all."""
        return self.salvaged.definition if self.salvaged is not None and not self.problems else None


def check_document(document: Any, catalog: ActionCatalog | None = None) -> Checked:
    """Every problem of a parsed YAML document (its shape, then every check on its valid parts)."""
    problems = shape_problems(document)
    salvaged = salvage(document)
    if salvaged is not None:
        found = check_definition(salvaged.definition, catalog)
        if not salvaged.named:  # the placeholder name says nothing about the document
            found = [problem for problem in found if problem.path != ("error_handler",)]
        problems += [shift_action_index(problem, salvaged.action_indexes) for problem in found]
    return Checked(problems, salvaged)


def check_definition(definition: WorkflowDefinition, catalog: ActionCatalog | None = None) -> list[Problem]:
    """Every problem of a built definition; with a ``catalog``, actions and their args are checked too."""
    problems = _graph(definition)
    problems += check_expressions(definition)
    problems += _expects(definition)
    problems += _not_json(definition)
    problems += _on_resolved(definition)
    if definition.error_handler is not None and definition.error_handler == definition.name:
        problems.append(Problem(("error_handler",), f"error_handler names the workflow itself ('{definition.name}')"))
    if catalog is not None:
        problems += check_actions(definition, catalog)
    return problems


def _graph(definition: WorkflowDefinition) -> list[Problem]:
    """Duplicate refs, edges from unknown refs, and dependency cycles."""
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
    cycle = find_cycle(definition.dependencies())
    if cycle:
        problems.append(
            Problem(("actions", refs.index(cycle[0]), "depends_on"), f"dependency cycle: {' -> '.join(cycle)}")
        )
    return problems


def _on_resolved(definition: WorkflowDefinition) -> list[Problem]:
    """``on_resolved.run`` names actions of this workflow, each once."""
    if definition.on_resolved is None:
        return []
    refs = {action.ref for action in definition.actions}
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, ref in enumerate(definition.on_resolved.run):
        path = ("on_resolved", "run", i)
        if ref not in refs:
            problems.append(Problem(path, f"on_resolved runs unknown ref '{ref}'"))
        elif ref in seen:
            problems.append(Problem(path, f"on_resolved runs '{ref}' twice"))
        seen.add(ref)
    return problems


def _not_json(definition: WorkflowDefinition) -> list[Problem]:
    """Values JSON cannot carry (``.nan``, ``!!binary``, a number as a key): args, returns and defaults travel as
    JSON through Temporal and Kafka."""
    places: list[tuple[Path, Any]] = [(("actions", i, "args"), a.args) for i, a in enumerate(definition.actions)]
    places.append((("returns",), definition.returns))
    places += [(("entrypoint", "expects", n, "default"), e.default) for n, e in definition.entrypoint.expects.items()]
    return [Problem(path, message) for base, value in places for path, message in _json_problems(value, base)]


def _json_problems(value: Any, path: Path) -> list[tuple[Path, str]]:
    if isinstance(value, dict):
        found = [(path, f"key {key!r} is not a string (JSON keys are)") for key in value if not isinstance(key, str)]
        return found + [item for key, child in value.items() for item in _json_problems(child, (*path, key))]
    if isinstance(value, list):
        return [item for index, child in enumerate(value) for item in _json_problems(child, (*path, index))]
    if isinstance(value, float) and not math.isfinite(value):
        return [(path, f"{value} is not a JSON number")]
    if value is None or isinstance(value, str | int | float | bool):
        return []
    return [(path, f"a {type(value).__name__} is not a JSON value")]


def _expects(definition: WorkflowDefinition) -> list[Problem]:
    """Defaults and enum values of ``entrypoint.expects`` that do not match their input's type."""
    problems: list[Problem] = []
    for name, expected in definition.entrypoint.expects.items():
        path = ("entrypoint", "expects", name)
        for j, value in enumerate(expected.enum or []):
            if not matches(expected.type, value):
                problems.append(
                    Problem((*path, "enum", j), f"input '{name}': enum value {value!r} is not {_a(expected.type)}")
                )
        if expected.required or expected.default is None:
            continue
        if not matches(expected.type, expected.default):
            problems.append(
                Problem((*path, "default"), f"input '{name}': default {expected.default!r} is not {_a(expected.type)}")
            )
        elif expected.enum is not None and expected.default not in expected.enum:
            problems.append(
                Problem((*path, "default"), f"input '{name}': default {expected.default!r} is not in its enum")
            )
    return problems


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"
