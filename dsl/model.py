"""The workflow definition users write in YAML, validated when it is loaded.

The shape follows Tracecat's DSL so later features are additions: per-action behaviour goes into ``options``
(timeouts and infrastructure retries today; run_if, for_each, retries with backoff, error edges later), and the
scheduler treats ``depends_on`` as the only edge type for now.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dsl.expressions import TemplateSyntaxError, expressions_in
from dsl.graph import find_cycle, upstream

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
REF_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionOptions(_Strict):
    """How the orchestrator calls the executor for one action (infrastructure concerns, not action logic)."""

    timeout_seconds: float = Field(
        300.0, gt=0, description="Time limit of one attempt; the executor stops the action when it is reached."
    )
    max_attempts: int = Field(
        5, ge=1, description="Attempts on infrastructure errors (worker lost, timeout); action errors never retry."
    )


class ActionStatement(_Strict):
    """One step: run registry action ``action`` with ``args`` once every ref in ``depends_on`` succeeded."""

    ref: str = Field(pattern=REF_PATTERN)
    action: str = Field(min_length=1, description="Registry name, e.g. 'core.http_request'.")
    args: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    options: ActionOptions = Field(default_factory=ActionOptions)


class WorkflowDefinition(_Strict):
    """A named DAG of actions and the value the workflow returns when every action succeeded."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    actions: list[ActionStatement] = Field(min_length=1)
    returns: Any = None

    def dependencies(self) -> dict[str, list[str]]:
        """``ref -> depends_on`` in definition order."""
        return {action.ref: list(action.depends_on) for action in self.actions}

    @model_validator(mode="after")
    def _check_graph(self) -> WorkflowDefinition:
        refs = [action.ref for action in self.actions]
        duplicates = sorted({ref for ref in refs if refs.count(ref) > 1})
        if duplicates:
            raise ValueError(f"duplicate action refs: {', '.join(duplicates)}")
        for action in self.actions:
            unknown = [ref for ref in action.depends_on if ref not in refs]
            if unknown:
                raise ValueError(f"action '{action.ref}' depends on unknown refs: {', '.join(unknown)}")
        cycle = find_cycle(self.dependencies())
        if cycle:
            raise ValueError(f"dependency cycle: {' -> '.join(cycle)}")
        self._check_templates(refs)
        return self

    def _check_templates(self, refs: list[str]) -> None:
        edges = self.dependencies()
        for action in self.actions:
            allowed = upstream(action.ref, edges)
            for expression in _expressions(action.args, f"action '{action.ref}' args"):
                outside = sorted(expression.refs - allowed)
                if outside:
                    raise ValueError(
                        f"action '{action.ref}' uses '${{{{ {expression.text} }}}}' but '{outside[0]}' "
                        f"is not upstream of it (add it to depends_on)"
                    )
        for expression in _expressions(self.returns, "returns"):
            unknown = sorted(expression.refs - set(refs))
            if unknown:
                raise ValueError(f"returns uses '${{{{ {expression.text} }}}}': no action '{unknown[0]}'")


def _expressions(value: Any, where: str) -> list[Any]:
    try:
        return expressions_in(value)
    except TemplateSyntaxError as error:
        raise ValueError(f"{where}: {error}") from None
