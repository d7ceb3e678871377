"""Checks of each action against the catalog: the action exists, and its args match its typed signature.

Only what is known before a run is checked: arg names (when the model refuses extras), required args, and the
type of every literal value. A value that is or contains a ``${{ }}`` template is checked when it is rendered,
just before the action runs.
"""

from __future__ import annotations

import difflib
import functools
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from dsl.catalog import ActionCatalog
from dsl.expressions import template_spans
from dsl.model import CHILD_WORKFLOW_ACTION, WorkflowDefinition
from dsl.problems import Path, Problem
from dsl.validate_shape import pydantic_problems


def check_actions(definition: WorkflowDefinition, catalog: ActionCatalog) -> list[Problem]:
    """Unknown actions and args that do not match their action's model, for every action."""
    problems: list[Problem] = []
    for i, statement in enumerate(definition.actions):
        model = catalog.args_model(statement.action)
        if model is None:
            close = difflib.get_close_matches(statement.action, catalog.names(), n=1)
            hint = (
                f" (did you mean '{close[0]}'?)"
                if close
                else " (actions of a package load through the 'alertmesh.actions' entry points or "
                "EXECUTOR_ACTION_MODULES)"
            )
            problems.append(Problem(("actions", i, "action"), f"unknown action '{statement.action}'{hint}"))
            continue
        problems += check_args(statement.action, model, statement.args, ("actions", i, "args"))
        workflow = statement.args.get("workflow")
        if statement.action == CHILD_WORKFLOW_ACTION and isinstance(workflow, str) and _has_template(workflow):
            problems.append(
                Problem(
                    ("actions", i, "args", "workflow"),
                    f"{CHILD_WORKFLOW_ACTION} needs a literal workflow name: the child's definition is sent with "
                    "the run, so it must be known before the run starts",
                )
            )
    return problems


def check_args(action: str, model: type[BaseModel], args: dict[str, Any], path: Path) -> list[Problem]:
    """Unknown and missing args, and literal values of the wrong type, for ``args`` of ``action`` at ``path``."""
    problems: list[Problem] = []
    fields = {(field.alias or name): name for name, field in model.model_fields.items()}
    takes = ", ".join(fields) or "no args"
    for key, value in args.items():
        if key not in fields and key not in model.model_fields:
            if model.model_config.get("extra") == "forbid":
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                message = f"{action} has no arg '{key}' ({hint}it takes {takes})"
                problems.append(Problem((*path, key), message, at_key=True))
            continue
        if _has_template(value):
            continue
        try:
            _adapter(model, fields.get(key, key)).validate_python(value)
        except ValidationError as error:
            problems += pydantic_problems(error, value, (*path, key))
    for alias, name in fields.items():
        if model.model_fields[name].is_required() and alias not in args and name not in args:
            problems.append(Problem(path, f"{action} needs arg '{alias}'"))
    return problems


@functools.lru_cache(maxsize=1024)
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """Validates one field of ``model`` alone: its type and its constraints (``Field(ge=1)`` and the like)."""
    field = model.model_fields[name]
    annotation: Any = field.annotation
    return TypeAdapter(Annotated[annotation, *field.metadata] if field.metadata else annotation)


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        try:
            return bool(template_spans(value))
        except ValueError:  # an unterminated template: a syntax problem, reported with the expressions
            return True
    if isinstance(value, dict):
        return any(_has_template(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_template(item) for item in value)
    return False
