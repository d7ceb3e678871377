"""The expressions the workflow itself evaluates (``run_if``, ``for_each`` lists, ``wait_until``, ``returns``, the
args of ``core.workflow.execute``): their context, and the one rule that differs from the executor's rendering.

A result stored outside history (``{"$stored": ...}``) cannot be read into here: the workflow must not fetch blobs
(I/O). An expression that is exactly ``ACTIONS.<ref>.result`` passes the reference through whole; any other read
of a stored result is a clear TemplateError instead of a confusing "no key" one. Pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dsl import nodes
from dsl.expressions import Expression, expressions_in, parse_expression
from dsl.templates import TemplateContext, TemplateError, evaluate, render
from dsl.values import truthy
from schemas.actions import ActionReport, stored_result


@dataclass(frozen=True)
class RunContext:
    """What every workflow-side expression of one run can read besides the actions' results."""

    trigger: Mapping[str, Any]
    env: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)

    def with_reports(
        self, reports: Mapping[str, ActionReport], loop: Mapping[str, Any] | None = None
    ) -> TemplateContext:
        """The template context over the recorded reports: results of succeeded actions (null for skipped and
        failed ones, so a skip never makes an expression fail), errors of failed and skipped ones."""
        results = {ref: r.result if r.status == "succeeded" else None for ref, r in reports.items()}
        errors = {ref: r.error.model_dump(mode="json") for ref, r in reports.items() if r.error is not None}
        return TemplateContext(
            trigger=self.trigger, results=results, errors=errors, env=self.env, vars=self.vars, loop=loop or {}
        )


def check_stored(value: Any, context: TemplateContext) -> None:
    """TemplateError if an expression in ``value`` reads into a stored result (a whole pass-through is fine)."""
    for expression in expressions_in(value):
        _check_expression(expression, context)


def _check_expression(expression: Expression, context: TemplateContext) -> None:
    for ref in sorted(expression.refs):
        stored = stored_result(context.results.get(ref))
        if stored is None:
            continue
        tree = expression.tree
        if isinstance(tree, nodes.ActionRef) and tree.ref == ref and tree.part == "result":
            continue
        raise TemplateError(
            f"'${{{{ {expression.text} }}}}': ACTIONS.{ref}.result is stored outside history ({stored.size} bytes); "
            "only action args can read into it"
        )


def render_in_workflow(value: Any, context: TemplateContext) -> Any:
    """``render`` with the stored-result rule."""
    check_stored(value, context)
    return render(value, context)


def condition_holds(text: str, context: TemplateContext) -> bool:
    """A ``run_if``: a template (``${{ ... }}``) or a bare expression; its truthiness."""
    value = render_in_workflow(text, context) if "${{" in text else _evaluate_bare(text, context)
    return truthy(value)


def _evaluate_bare(text: str, context: TemplateContext) -> Any:
    expression = parse_expression(text)
    _check_expression(expression, context)
    return evaluate(expression, context)


def wait_until_time(text: str, context: TemplateContext) -> datetime:
    """The moment a ``wait_until`` names (an ISO 8601 date-time, literal or from an expression; naive = UTC)."""
    value = render_in_workflow(text, context)
    if not isinstance(value, str):
        raise TemplateError(f"wait_until {text!r} gave {value!r}, not an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise TemplateError(f"wait_until {text!r} gave {value!r}, not an ISO 8601 date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
