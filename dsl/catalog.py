"""The actions a workflow may call, with the model of each one's args: what validation checks ``action`` and
``args`` against. ``dsl`` never builds one from a registry: whoever loads workflow files passes one (the executor's
is ``services.executor.catalog.action_catalog``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from dsl.model import CHILD_WORKFLOW_ACTION, ChildWorkflowArgs


@dataclass(frozen=True)
class ActionCatalog:
    """Action names and the pydantic model of each one's args; ``core.workflow.execute`` is the workflow's own
    (it starts a child run) and always takes ``ChildWorkflowArgs``."""

    models: Mapping[str, type[BaseModel]]

    def args_model(self, name: str) -> type[BaseModel] | None:
        """The args model of action ``name``; None when there is no such action."""
        if name == CHILD_WORKFLOW_ACTION:
            return ChildWorkflowArgs
        return self.models.get(name)

    def names(self) -> list[str]:
        """Every action name, sorted."""
        return sorted({*self.models, CHILD_WORKFLOW_ACTION})


class CatalogError(RuntimeError):
    """The catalog could not be built (an action module from the entry points or EXECUTOR_ACTION_MODULES could not
    be imported); the loader reports it as unreadable input."""


#: A catalog, built only when a file is to be checked (building one imports every action module).
CatalogProvider = Callable[[], ActionCatalog]
