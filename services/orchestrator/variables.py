"""Workspace variables (``VARS.*``): one YAML or JSON mapping, read once when the orchestrator starts and carried in
each run's input (``DSLRun.vars``), so a run and its replays never depend on the file as it is later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class VarsFileError(Exception):
    """The variables file cannot be read or is not a mapping; the message names the file."""


def load_vars(path: Path | None) -> dict[str, Any]:
    """The mapping in ``path`` (YAML, so JSON too); empty when no file is configured."""
    if path is None:
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise VarsFileError(f"{path}: cannot read workspace variables: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict) or not all(isinstance(key, str) for key in document):
        raise VarsFileError(f"{path}: workspace variables must be a mapping with string keys")
    return document
