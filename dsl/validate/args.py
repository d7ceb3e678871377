"""Checks of each action against the catalog: the action exists, and its args match its typed signature.

Only what is known before a run is checked: arg names (when the model refuses extras), required args, and the
type of every literal value. A value that is or contains a ``${{ }}`` template is checked when it is rendered,
just before the action runs.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from dsl.catalog import ActionCatalog
from dsl.expressions import template_spans
from dsl.model import CHILD_WORKFLOW_ACTION, WorkflowDefinition
from dsl.problems import Path, Problem
from dsl.validate.shape import pydantic_problems


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
    for key in args:
        if key not in fields and key not in model.model_fields and model.model_config.get("extra") == "forbid":
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(Problem((*path, key), f"{action} has no arg '{key}' ({hint}it takes {takes})", at_key=True))
    for alias, name in fields.items():
        if model.model_fields[name].is_required() and alias not in args and name not in args:
            problems.append(Problem(path, f"{action} needs arg '{alias}'"))
    return problems + _literal_problems(model, args, path)


def _literal_problems(model: type[BaseModel], args: dict[str, Any], path: Path) -> list[Problem]:
    """The model's errors on the template-free args. The whole model validates them (not each field alone), so
    its own normalisation applies first (``method: get`` is upper-cased before it is checked); errors about the
    args left out (templated, so only known once rendered) and about missing or unknown args (reported above
    with a clearer message) are dropped."""
    literal = {key: value for key, value in args.items() if not _has_template(value)}
    templated = set(args) - set(literal)
    try:
        model.model_validate(literal)
    except (TypeError, AttributeError, KeyError) as error:
        # A validator of the action's own (a package's) that trips on a value it did not expect: still a problem
        # with these args, not a crash of the orchestrator or of ``alertmesh validate``.
        return [Problem(path, f"args: {type(error).__name__}: {error}")]
    except ValidationError as error:
        kept = [
            item
            for item in error.errors()
            if item["type"] not in ("missing", "extra_forbidden")
            and not (item["loc"] and item["loc"][0] in templated)
            and not (not item["loc"] and templated)
        ]
        if kept:
            return pydantic_problems(kept, literal, path)
    return []


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
