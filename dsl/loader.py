"""Loads every workflow definition in a directory at start-up; any problem stops start-up with its file name."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from dsl.model import WorkflowDefinition
from dsl.validate import check_definition


class WorkflowLoadError(Exception):
    """A definition file could not be read or is invalid; the message names the file and the problem."""


def load_definition(path: Path) -> WorkflowDefinition:
    """Parse and validate one YAML file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise WorkflowLoadError(f"{path}: cannot read YAML: {error}") from None
    try:
        definition = WorkflowDefinition.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<document>'}: {item['msg']}" for item in error.errors()
        )
        raise WorkflowLoadError(f"{path}: invalid workflow definition: {problems}") from None
    found = check_definition(definition)
    if found:
        text = "; ".join(f"{'.'.join(str(part) for part in p.path)}: {p.message}" for p in found)
        raise WorkflowLoadError(f"{path}: invalid workflow definition: {text}")
    return definition


def load_workflows(directory: Path) -> dict[str, WorkflowDefinition]:
    """Every ``*.yaml``/``*.yml`` in ``directory`` by workflow name; duplicate names are an error."""
    if not directory.is_dir():
        raise WorkflowLoadError(f"{directory}: workflows directory does not exist")
    files = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    definitions: dict[str, WorkflowDefinition] = {}
    origins: dict[str, Path] = {}
    for path in files:
        definition = load_definition(path)
        if definition.name in definitions:
            raise WorkflowLoadError(
                f"{path}: workflow name '{definition.name}' is already defined in {origins[definition.name]}"
            )
        definitions[definition.name] = definition
        origins[definition.name] = path
    return definitions
