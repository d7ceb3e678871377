"""``core.transform.*``: actions that build new JSON structures from values a workflow already has."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from services.executor.actions.registry import action


class ReshapeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Any JSON value; the orchestrator has already resolved the templates inside it.
    value: Any


@action("core.transform.reshape", pure=True)
def reshape(args: ReshapeArgs) -> Any:
    """Return ``value`` as given: templates are resolved before the call, so workflows build data this way."""
    return args.value
