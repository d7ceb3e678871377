"""``core.transform.*``: actions that build new JSON structures from values a workflow already has.

``filter`` and ``map`` take an expression of the DSL evaluated per item inside the action, as ``var.item``
(``var.index`` is its position). Write it bare, not as ``${{ }}``: args are rendered before the action runs, when
there is no item yet.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dsl.errors import TemplateError
from dsl.expressions import Expression, parse_expression
from dsl.templates import TemplateContext, evaluate
from dsl.values import truthy
from services.executor.actions.registry import action


class ReshapeArgs(BaseModel):
    """Arguments of ``core.transform.reshape``."""

    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="Any JSON value; its templates are resolved before the call.")


@action("core.transform.reshape", description="Return the value given: build JSON from templates.", pure=True)
def reshape(args: ReshapeArgs) -> Any:
    """Return ``value`` as given: templates are resolved before the call, so workflows build data this way."""
    return args.value


def _bare_expression(value: str) -> str:
    if "${{" in value:
        raise ValueError("write the expression bare (it reads var.item), not as ${{ ... }}")
    parse_expression(value)
    return value


class _PerItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(description="The list to go through.")

    def each(self, text: str) -> list[tuple[Any, Any]]:
        """``(item, value of the expression on it)`` for every item."""
        expression: Expression = parse_expression(text)
        out = []
        for index, item in enumerate(self.items):
            context = TemplateContext(trigger={}, loop={"item": item, "index": index})
            try:
                out.append((item, evaluate(expression, context)))
            except TemplateError as error:
                raise TemplateError(f"item {index}: {error}") from None
        return out


class FilterArgs(_PerItem):
    """Arguments of ``core.transform.filter``: the items and a bare expression, checked when the arguments are
    parsed."""

    condition: str = Field(description="Expression on `var.item` (and `var.index`); items where it is truthy stay.")

    @field_validator("condition")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _bare_expression(value)


@action("core.transform.filter", description="Keep the items for which a condition on var.item holds.", pure=True)
def filter_items(args: FilterArgs) -> list[Any]:
    """The items for which ``condition`` is truthy, in order."""
    return [item for item, keep in args.each(args.condition) if truthy(keep)]


class MapArgs(_PerItem):
    """Arguments of ``core.transform.map``: the items and a bare expression, checked when the arguments are parsed."""

    expression: str = Field(description="Expression on `var.item` (and `var.index`) giving each new item.")

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _bare_expression(value)


@action("core.transform.map", description="Evaluate an expression on every item (var.item).", pure=True)
def map_items(args: MapArgs) -> list[Any]:
    """``expression`` evaluated on every item, in order."""
    return [value for _, value in args.each(args.expression)]


class DeduplicateArgs(BaseModel):
    """Arguments of ``core.transform.deduplicate``."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(description="The list to deduplicate.")
    keys: list[str] | None = Field(
        None, description="Object fields that identify an item (dotted paths); default: the whole item."
    )


def _pluck(item: Any, path: str) -> Any:
    for part in path.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


@action("core.transform.deduplicate", description="Drop repeated items (whole, or by key fields).", pure=True)
def deduplicate(args: DeduplicateArgs) -> list[Any]:
    """The items with repeats dropped (the first of each kept, in order); two items repeat each other when they
    are equal, or when ``keys`` are given, when those fields are equal."""
    seen: set[str] = set()
    kept = []
    for item in args.items:
        identity = [_pluck(item, key) for key in args.keys] if args.keys else item
        fingerprint = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        if fingerprint not in seen:
            seen.add(fingerprint)
            kept.append(item)
    return kept


class FlattenArgs(BaseModel):
    """Arguments of ``core.transform.flatten``."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(description="A list whose nested lists are spliced in.")
    depth: int = Field(1, ge=1, le=100, description="How many levels of nesting to remove.")


def _flatten(items: list[Any], depth: int) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, list) and depth > 0:
            out.extend(_flatten(item, depth - 1))
        else:
            out.append(item)
    return out


@action("core.transform.flatten", description="Splice nested lists into one list.", pure=True)
def flatten(args: FlattenArgs) -> list[Any]:
    """``items`` with nested lists spliced in, ``depth`` levels deep (1: a list of lists becomes one list)."""
    return _flatten(args.items, args.depth)
