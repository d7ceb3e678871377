"""The shape of a workflow document: pydantic's errors as problems at their keys, and the definition salvaged.

A document with a wrong key or type still gets every other check: ``salvage`` drops what pydantic refused (the
offending keys, or an action whose ref or action is unusable) and builds a definition from the rest, with the
document index of each action it kept, so no problem hides another.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dsl.model import (
    ActionStatement,
    Entrypoint,
    ExpectedInput,
    OnResolved,
    RetryPolicy,
    WorkflowConfig,
    WorkflowDefinition,
)
from dsl.problems import Path, Problem

#: What stands in for an invalid name, so the rest of the document can still be checked.
_PLACEHOLDER_NAME = "invalid-name"


@dataclass(frozen=True)
class Salvaged:
    """The definition built from the valid parts of a document, and the document index of each kept action."""

    definition: WorkflowDefinition
    action_indexes: list[int]
    #: Whether ``definition.name`` is the document's own (it is a placeholder when the name was invalid).
    named: bool


def shape_problems(document: Any) -> list[Problem]:
    """Unknown keys, missing keys and wrong types, each at the most specific place the document has."""
    if not isinstance(document, dict):
        kind = "an empty document" if document is None else f"a {type(document).__name__}"
        return [Problem((), f"a workflow definition is a mapping with 'name' and 'actions', not {kind}")]
    problems = [_options(i) for i, action in enumerate(_list(document.get("actions"))) if _has(action, "options")]
    try:
        WorkflowDefinition.model_validate(document)
    except ValidationError as error:
        # pydantic refuses ``options`` as an unknown key: it is reported once, as replaced by retry_policy.
        found = pydantic_problems(error.errors(), document, ())
        problems += [p for p in found if not (p.at_key and len(p.path) == 3 and p.path[2] == "options")]
    return problems


def pydantic_problems(errors: list[ErrorDetails], document: Any, base: Path) -> list[Problem]:
    """pydantic's ``errors`` as problems; ``document`` is the validated value, found at ``base`` in the file."""
    grouped: dict[tuple[Path, bool], list[str]] = {}
    shown: dict[tuple[Path, bool], str] = {}
    for item in errors:
        path, exact = _resolve(document, item["loc"])
        problem = _problem((*base, *path), item, exact)
        # A union reports one error per member at the same place: say them together, in one problem.
        messages = grouped.setdefault((problem.path, problem.at_key), [])
        if problem.message not in messages:
            messages.append(problem.message)
        value = item["input"]
        if isinstance(value, str | int | float | bool) and item["type"] not in ("missing", "extra_forbidden"):
            shown[(problem.path, problem.at_key)] = f" (got {repr(value)[:60]})"
    return [
        Problem(path, messages[0], at_key)
        if at_key or messages[0].startswith("missing")
        else Problem(path, f"{_label(path)}: {' or '.join(messages)}{shown.get((path, at_key), '')}")
        for (path, at_key), messages in grouped.items()
    ]


def _label(path: Path) -> str:
    """``max_attempts``, ``depends_on[0]``: the last key of ``path`` and the indexes after it."""
    indexes = ""
    for part in reversed(path):
        if isinstance(part, str):
            return part + indexes
        indexes = f"[{part}]{indexes}"
    return "document" + indexes


def _problem(path: Path, item: ErrorDetails, exact: bool) -> Problem:
    if item["type"] == "extra_forbidden" and exact:
        return Problem(path, f"unknown key '{path[-1]}'{_suggestion(path)}", at_key=True)
    if item["type"] == "missing":
        return Problem(path[:-1] if exact else path, f"missing required key '{item['loc'][-1]}'")
    return Problem(path, item["msg"])


def _resolve(document: Any, loc: tuple[int | str, ...]) -> tuple[Path, bool]:
    """The longest prefix of ``loc`` the document has (a union names its members in ``loc``), and whether it
    is all of ``loc``; the key of a missing or unknown entry counts as present."""
    path: list[str | int] = []
    value = document
    for i, part in enumerate(loc):
        found = isinstance(value, dict) and part in value
        if found or (isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)):
            value = value[part]
        elif isinstance(value, dict) and i == len(loc) - 1:
            return (*path, part), True
        else:
            return tuple(path), False
        path.append(part)
    return tuple(path), True


_MODELS: dict[str, type[BaseModel]] = {
    "": WorkflowDefinition,
    "actions.#": ActionStatement,
    "actions.#.retry_policy": RetryPolicy,
    "entrypoint": Entrypoint,
    "entrypoint.expects.*": ExpectedInput,
    "config": WorkflowConfig,
    "on_resolved": OnResolved,
}


def _suggestion(path: Path) -> str:
    """`` (did you mean 'run_if'?)`` for a misspelt key of a model the definition is made of."""
    shape = ".".join("#" if isinstance(part, int) else part for part in path[:-1])
    if len(path) == 4 and path[:2] == ("entrypoint", "expects"):
        shape = "entrypoint.expects.*"
    model = _MODELS.get(shape)
    if model is None:
        return ""
    close = difflib.get_close_matches(str(path[-1]), list(model.model_fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _options(index: int) -> Problem:
    return Problem(
        ("actions", index, "options"),
        "'options' is replaced by retry_policy (max_attempts, timeout, initial_interval, backoff_coefficient, "
        "maximum_interval, retry_until, non_retryable)",
        at_key=True,
    )


def _has(value: Any, key: str) -> bool:
    return isinstance(value, dict) and key in value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def salvage(document: Any) -> Salvaged | None:
    """A definition of the document's valid parts, or None when too little is valid (no usable action)."""
    if not isinstance(document, dict):
        return None
    kept: list[ActionStatement] = []
    indexes: list[int] = []
    for index, raw in enumerate(_list(document.get("actions"))):
        statement = _valid_part(ActionStatement, raw)
        if isinstance(statement, ActionStatement):
            kept.append(statement)
            indexes.append(index)
    if not kept:
        return None
    top = {key: value for key, value in document.items() if key != "actions"}
    try:
        return Salvaged(WorkflowDefinition.model_validate({**top, "actions": kept}), indexes, named=True)
    except ValidationError as error:
        bad = {item["loc"][0] for item in error.errors() if item["loc"]}
    top = {key: value for key, value in top.items() if key not in bad}
    try:
        definition = WorkflowDefinition.model_validate({"name": _PLACEHOLDER_NAME, **top, "actions": kept})
    except ValidationError:
        return None
    # A name pydantic refused (or none) is in ``bad``; otherwise the document's own name overrode the placeholder.
    return Salvaged(definition, indexes, named="name" not in bad)


def _valid_part(model: type[BaseModel], raw: Any) -> BaseModel | None:
    """``raw`` as ``model``, dropping the keys pydantic refused if that is enough; None when it is not."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        bad = {item["loc"][0] for item in error.errors() if item["loc"]}
        try:
            return model.model_validate({key: value for key, value in raw.items() if key not in bad})
        except ValidationError:
            return None
