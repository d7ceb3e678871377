"""``core.require``: assert conditions in a workflow, failing the action (and so the path after it) with a message
naming the first condition that did not hold. Its ``.error`` edge, or the run's failure, then says why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dsl.values import truthy, type_name
from services.executor.actions.registry import action


class RequirementFailed(Exception):
    """A condition given to ``core.require`` was falsy."""


class Condition(BaseModel):
    """One named condition of ``core.require``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="What the condition means, used in the failure message.")
    value: Any = Field(description="Usually a `${{ ... }}` expression; it holds when truthy.")


class RequireArgs(BaseModel):
    """Arguments of ``core.require``."""

    model_config = ConfigDict(extra="forbid")

    conditions: list[Condition] | dict[str, Any] = Field(
        description="Named conditions: a list of {name, value}, or a mapping name -> value; all must be truthy."
    )
    message: str | None = Field(None, description="Added to the failure message.")

    def named(self) -> list[tuple[str, Any]]:
        """The conditions as ``(name, value)`` pairs, in the order they were written."""
        if isinstance(self.conditions, dict):
            return list(self.conditions.items())
        return [(condition.name, condition.value) for condition in self.conditions]


@action(
    "core.require", description="Fail unless every named condition is truthy, naming the first that is not.", pure=True
)
def require(args: RequireArgs) -> dict[str, list[str]]:
    """Succeed with ``{"held": [names]}`` when every condition is truthy; otherwise fail with
    RequirementFailed naming the first condition that is not (and the type of its value, never the value)."""
    held = []
    for name, value in args.named():
        if not truthy(value):
            detail = f": {args.message}" if args.message else ""
            raise RequirementFailed(f"condition '{name}' did not hold (it is a falsy {type_name(value)}){detail}")
        held.append(name)
    return {"held": held}
