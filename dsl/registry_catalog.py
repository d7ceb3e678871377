"""The catalog of the executor's registry: the built-in ``core.*`` actions, the ones packages offer through the
``alertmesh.actions`` entry-point group, and the modules ``EXECUTOR_ACTION_MODULES`` names (the orchestrator and
``alertmesh validate`` must see the same setting as the executor).

Only the loader imports this module: it reads the environment and imports the action library (HTTP clients and
all), neither of which the workflow code that imports ``dsl`` may do.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from dsl.catalog import ActionCatalog

#: The entry-point group packages register their action modules under.
ENTRY_POINT_GROUP = "alertmesh.actions"
#: The executor's setting (a comma-separated list of modules to import), read here too.
ACTION_MODULES_ENV = "EXECUTOR_ACTION_MODULES"


class CatalogError(RuntimeError):
    """An action module (from the entry points or EXECUTOR_ACTION_MODULES) could not be imported."""


def registry_catalog() -> ActionCatalog:
    """The executor registry's actions, after loading the entry points and EXECUTOR_ACTION_MODULES."""
    # Imported here: the action library imports ``dsl`` itself (its expression functions).
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
