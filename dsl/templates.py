"""Evaluation of ``${{ ... }}`` templates against a context: pure and deterministic, so safe inside a workflow.

A string that is exactly one expression takes the value's own JSON type; expressions inside a longer string are
interpolated as text (strings as is, None as "", anything else JSON-encoded).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dsl.expressions import TEMPLATE, Expression, parse_expression


class TemplateError(ValueError):
    """An expression could not be evaluated (missing key, bad index, action without result)."""


@dataclass(frozen=True)
class TemplateContext:
    """What expressions can read: the trigger's data and the results of finished actions, by ref."""

    trigger: Mapping[str, Any]
    results: Mapping[str, Any] = field(default_factory=dict)


def _walk(value: Any, path: tuple[str, ...], expression: Expression) -> Any:
    for depth, key in enumerate(path):
        where = ".".join(path[:depth]) or "<root>"
        if isinstance(value, Mapping):
            if key not in value:
                raise TemplateError(f"'${{{{ {expression.text} }}}}': no key '{key}' in {where}")
            value = value[key]
        elif isinstance(value, list):
            if not key.isdigit() or int(key) >= len(value):
                raise TemplateError(
                    f"'${{{{ {expression.text} }}}}': no index '{key}' in {where} (a list of {len(value)})"
                )
            value = value[int(key)]
        else:
            kind = type(value).__name__
            raise TemplateError(f"'${{{{ {expression.text} }}}}': no key '{key}' in {where} (a {kind})")
    return value


def evaluate(expression: Expression, context: TemplateContext) -> Any:
    """The value an expression points at; ``TemplateError`` naming the expression and the missing key."""
    if expression.root == "TRIGGER":
        return _walk(context.trigger, expression.path, expression)
    assert expression.ref is not None  # parse_expression sets it for ACTIONS
    if expression.ref not in context.results:
        raise TemplateError(f"'${{{{ {expression.text} }}}}': action '{expression.ref}' has no result")
    return _walk(context.results[expression.ref], expression.path, expression)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(value: Any, context: TemplateContext) -> Any:
    """Resolve every template inside ``value`` (recursing through dicts and lists); a new value is returned."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value)
        if whole is not None:
            return evaluate(parse_expression(whole.group(1)), context)
        return TEMPLATE.sub(lambda match: _as_text(evaluate(parse_expression(match.group(1)), context)), value)
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value
