"""Evaluation of ``${{ ... }}`` templates against a context: pure and deterministic, so safe inside a workflow.

A string that is exactly one expression takes the value's own JSON type; expressions inside a longer string are
interpolated as text (strings as is, None as "", anything else compact JSON). The language itself is described
in ``dsl.parser`` (syntax) and ``dsl.evaluator`` (meaning); functions are in ``dsl.functions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dsl.errors import TemplateError, TemplateSyntaxError
from dsl.evaluator import Scope
from dsl.evaluator import evaluate as evaluate_tree
from dsl.expressions import Expression, parse_expression, template_spans
from dsl.values import as_text

__all__ = ["TemplateContext", "TemplateError", "TemplateSyntaxError", "evaluate", "render"]


@dataclass(frozen=True)
class TemplateContext:
    """What expressions can read.

    ``trigger`` (TRIGGER), finished actions' ``results`` and ``errors`` by ref (ACTIONS.<ref>.result/.error),
    ``secrets`` by name then key (SECRETS.<name>.<KEY>), ``env`` (ENV: workflow_id, run_id, start_time,
    workflow), workspace ``vars`` (VARS) and the for_each ``loop`` variables (var.<name>).
    """

    trigger: Mapping[str, Any]
    results: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    env: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    loop: Mapping[str, Any] = field(default_factory=dict)
    errors: Mapping[str, Any] = field(default_factory=dict)

    def scope(self) -> Scope:
        """The evaluator's view of this context."""
        return Scope(
            trigger=self.trigger,
            results=self.results,
            errors=self.errors,
            secrets=self.secrets,
            env=self.env,
            vars=self.vars,
            loop=self.loop,
        )


def evaluate(expression: Expression, context: TemplateContext) -> Any:
    """The value of one parsed expression; ``TemplateError`` naming the expression and the problem."""
    return evaluate_tree(expression.tree, expression.text, context.scope())


def _render_string(value: str, scope: Scope) -> Any:
    spans = template_spans(value)
    if not spans:
        return value
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(value):
        expression = parse_expression(spans[0][2])
        return evaluate_tree(expression.tree, expression.text, scope)
    parts: list[str] = []
    position = 0
    for start, end, body in spans:
        expression = parse_expression(body)
        parts += [value[position:start], as_text(evaluate_tree(expression.tree, expression.text, scope))]
        position = end
    parts.append(value[position:])
    return "".join(parts)


def render(value: Any, context: TemplateContext) -> Any:
    """Resolve every template inside ``value`` (recursing through dicts and lists); a new value is returned."""
    return _render(value, context.scope())


def _render(value: Any, scope: Scope) -> Any:
    if isinstance(value, str):
        return _render_string(value, scope)
    if isinstance(value, dict):
        return {key: _render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, scope) for item in value]
    return value
