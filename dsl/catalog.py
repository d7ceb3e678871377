"""The actions a workflow may call, with the model of each one's args: what validation checks ``action`` and
``args`` against.

``registry_catalog`` reads the executor's registry: the built-in ``core.*`` actions, the ones packages offer
through the ``alertmesh.actions`` entry-point group, and the modules ``EXECUTOR_ACTION_MODULES`` names (so the
orchestrator and ``alertmesh validate`` must see the same setting as the executor). ``core.workflow.execute`` is
the workflow's own (it starts a child run) and always takes ``ChildWorkflowArgs``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points

from pydantic import BaseModel

from dsl.model import CHILD_WORKFLOW_ACTION, ChildWorkflowArgs

#: The entry-point group packages register their action modules under.
ENTRY_POINT_GROUP = "alertmesh.actions"
#: The executor's setting (a comma-separated list of modules to import), read here too.
ACTION_MODULES_ENV = "EXECUTOR_ACTION_MODULES"


class CatalogError(RuntimeError):
    """An action module (from the entry points or EXECUTOR_ACTION_MODULES) could not be imported."""


@dataclass(frozen=True)
class ActionCatalog:
    """Action names and the pydantic model of each one's args."""

    models: Mapping[str, type[BaseModel]]

    def args_model(self, name: str) -> type[BaseModel] | None:
        """The args model of action ``name``; None when there is no such action."""
        if name == CHILD_WORKFLOW_ACTION:
            return ChildWorkflowArgs
        return self.models.get(name)

    def names(self) -> list[str]:
        """Every action name, sorted."""
        return sorted({*self.models, CHILD_WORKFLOW_ACTION})


def registry_catalog() -> ActionCatalog:
    """The executor registry's actions, after loading the entry points and EXECUTOR_ACTION_MODULES."""
    # Imported here, not at the top: the executor's actions import ``dsl`` themselves, and the workflow code that
    # imports ``dsl`` must not pull in the action library (HTTP clients and all).
    import importlib

    from services.executor.actions import action_names, get_action

    modules = [name.strip() for name in os.environ.get(ACTION_MODULES_ENV, "").split(",") if name.strip()]
    try:
        for module in modules:
            importlib.import_module(module)
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            entry_point.load()
    except Exception as error:  # any import error names the module the user configured
        raise CatalogError(f"cannot load the action modules: {type(error).__name__}: {error}") from error
    return ActionCatalog({name: get_action(name).args_model for name in action_names()})
