"""Reads workflow files and reports every problem as ``file:line:col: message``; the orchestrator loads its
folder with ``load_workflows`` at start-up and ``alertmesh validate`` checks files with ``check_files``.

Each file is read as every user's file is (``dsl.files``) and checked whole (its YAML, its shape, every check of
``dsl.validate.definition``), then the files together (``dsl.validate.workflow_set``). Nothing is loaded unless
everything is valid; ``WorkflowLoadError`` carries every line.

The actions a workflow may call come from the caller (``catalog``: an ``ActionCatalog``, or a function building one
when a file is checked): ``dsl`` does not know where actions live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dsl.catalog import ActionCatalog, CatalogError, CatalogProvider
from dsl.files import ConfigFileError, placed, read_text
from dsl.model import WorkflowDefinition
from dsl.positions import ParsedYaml, YamlSyntaxError, parse_yaml
from dsl.problems import Problem
from dsl.validate import Member, check_document, check_set

SUFFIXES = (".yaml", ".yml")


class WorkflowLoadError(ConfigFileError):
    """Definition files could not be read or are invalid; ``lines`` holds every ``file:line:col: message``."""

    headline = "invalid workflow definitions"


class UnreadableInput(WorkflowLoadError):
    """A file or folder could not be read at all (missing, not a file, not UTF-8 text) or the action modules
    could not be loaded."""

    headline = "cannot read the workflow definitions"


@dataclass
class Report:
    """The outcome of checking a set of files: valid definitions by name, and every problem line."""

    definitions: dict[str, WorkflowDefinition] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


@dataclass
class _File:
    path: Path
    parsed: ParsedYaml
    problems: list[Problem]
    member: Member | None
    definition: WorkflowDefinition | None

    def lines(self, problems: Sequence[Problem]) -> list[str]:
        return placed(self.path, self.parsed, problems)


def check_files(paths: Sequence[Path], *, closed: bool, catalog: ActionCatalog | CatalogProvider) -> Report:
    """Check ``paths`` together against ``catalog``; a closed set resolves every workflow name in it.
    ``UnreadableInput`` when a file cannot be read or the catalog cannot be built."""
    if not isinstance(catalog, ActionCatalog):
        try:
            catalog = catalog()
        except CatalogError as error:
            raise UnreadableInput([str(error)]) from None
    report = Report()
    files: list[_File] = []
    for path in paths:
        checked = _check_file(path, catalog)
        if isinstance(checked, str):
            report.lines.append(checked)
        else:
            files.append(checked)
    across = check_set([file.member for file in files if file.member is not None], closed=closed)
    for file in files:
        problems = file.parsed.problems + file.problems + across.get(str(file.path), [])
        report.lines += file.lines(problems)
        if not problems and file.definition is not None:
            report.definitions[file.definition.name] = file.definition
    return report


def _check_file(path: Path, catalog: ActionCatalog) -> _File | str:
    """The checked file, or its one ``file:line:col: message`` line when it is not YAML."""
    return _check_text(read_text(path, UnreadableInput), path, catalog)


def _check_text(text: str, path: Path, catalog: ActionCatalog) -> _File | str:
    try:
        parsed = parse_yaml(text)
    except YamlSyntaxError as error:
        return f"{path}:{error.line}:{error.column}: {error}"
    checked = check_document(parsed.document, catalog)
    member = None
    if checked.salvaged is not None and checked.salvaged.named:
        member = Member(str(path), checked.salvaged.definition, checked.salvaged.action_indexes)
    return _File(path, parsed, checked.problems, member, checked.definition)


def workflow_files(directory: Path) -> list[Path]:
    """The ``*.yaml``/``*.yml`` files of ``directory``, sorted; ``UnreadableInput`` if it is not a directory."""
    if not directory.is_dir():
        raise UnreadableInput([f"{directory}: workflows directory does not exist"])
    return sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file())


def load_definition(path: Path, catalog: ActionCatalog | CatalogProvider) -> WorkflowDefinition:
    """One valid definition file, checked alone against ``catalog`` (the workflows it names are not resolved)."""
    report = check_files([path], closed=False, catalog=catalog)
    if report.lines:
        raise WorkflowLoadError(report.lines)
    return next(iter(report.definitions.values()))


def load_workflows(directory: Path, catalog: ActionCatalog | CatalogProvider) -> dict[str, WorkflowDefinition]:
    """Every workflow in ``directory`` by name, all valid together against ``catalog``; ``WorkflowLoadError``
    listing every problem."""
    report = check_files(workflow_files(directory), closed=True, catalog=catalog)
    if report.lines:
        raise WorkflowLoadError(report.lines)
    return report.definitions
