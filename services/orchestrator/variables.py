"""Workspace variables (``VARS.*``): one YAML or JSON mapping, read once when the orchestrator starts and carried in
each run's input (``DSLRun.vars``), so a run and its replays never depend on the file as it is later.

The file is read by ``dsl.files``, as every file a user writes is: a problem is named ``file:line:col: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsl.files import ConfigFileError, Invalid, load_file
from dsl.problems import Problem

NOT_A_MAPPING = "workspace variables must be a mapping with string keys"


class VarsFileError(ConfigFileError):
    """The variables file cannot be read or is not a mapping; ``problems`` name the file and where."""

    headline = "invalid workspace variables"


def load_vars(path: Path | None) -> dict[str, Any]:
    """The mapping in ``path`` (YAML, so JSON too); empty when no file is configured."""
    if path is None:
        return {}
    return load_file(path, _variables, VarsFileError)


def _variables(document: Any) -> dict[str, Any]:
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise Invalid([Problem((), NOT_A_MAPPING)])
    keys = [Problem((key,), NOT_A_MAPPING, at_key=True) for key in document if not isinstance(key, str)]
    if keys:
        raise Invalid(keys)
    return document
