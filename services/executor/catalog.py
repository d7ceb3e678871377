"""The catalog of this executor's actions, for checking workflows before they run: the built-in ``core.*``
actions, the ones packages offer through the ``alertmesh.actions`` entry-point group, and the modules
``EXECUTOR_ACTION_MODULES`` names (the orchestrator and ``alertmesh validate`` must see the same setting as the
executor).

It lives here, not in ``dsl``: it reads the environment and imports the action library (HTTP clients and all),
neither of which the workflow code that imports ``dsl`` may do, and ``dsl`` never imports a service (the action
library imports ``dsl`` itself, for its expression functions, so the other way round would also be a cycle).
Whoever loads workflow files passes ``action_catalog`` (the function: it is called only when a file is checked) to
``dsl.loader``: the orchestrator's entry point, ``alertmesh validate`` and ``alertmesh run``.
"""

from __future__ import annotations

from dsl.catalog import ActionCatalog, CatalogError
from services.executor.actions import action_names, get_action, load_plugins
from services.executor.outcome import configured_action_modules, import_action_modules

__all__ = ["CatalogError", "action_catalog"]


def action_catalog() -> ActionCatalog:
    """The executor registry's actions, after loading the entry points and EXECUTOR_ACTION_MODULES, the way the
    executor and its Ray workers load them; ``CatalogError`` naming the module that could not be imported."""
    try:
        import_action_modules(configured_action_modules())
        load_plugins()
    except Exception as error:  # any import error names the module the user configured
        raise CatalogError(f"cannot load the action modules: {type(error).__name__}: {error}") from error
    return ActionCatalog({name: get_action(name).args_model for name in action_names()})
