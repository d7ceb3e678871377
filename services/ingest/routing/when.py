"""A route's ``when``: one expression of the workflow DSL, judged against the alert as ``TRIGGER.alert``.

``when: ${{ TRIGGER.alert.labels.env == 'prod' && 'db' in TRIGGER.alert.name }}`` (or the bare expression, as
``run_if`` takes it). ``TRIGGER.alert`` is the normalized alert exactly as the workflow will see it in its own
``TRIGGER.alert``, so an expression can move between a route and a workflow unchanged. Only ``TRIGGER`` can be
read (no ACTIONS, SECRETS, ENV, VARS: nothing has run yet). The value is tested for truth as ``run_if``'s is; an
expression that fails on an alert (a missing key: use ``'env' in TRIGGER.alert.labels``) does not match it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl.errors import TemplateError, TemplateSyntaxError
from dsl.evaluator import Scope
from dsl.evaluator import evaluate as evaluate_tree
from dsl.expressions import Expression, parse_expression, template_spans
from dsl.values import truthy
from services.ingest.routing.conditions import Condition, Subject

_EMPTY: dict[str, object] = {}


class WhenError(ValueError):
    """A ``when`` that is not one valid expression; ``offset`` is where in the text, when known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, eq=False)
class When(Condition):
    """A compiled ``when``."""

    source: str
    expression: Expression
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", f"when ${{{{ {self.expression.text} }}}}")

    def value(self, subject: Subject) -> object:
        """The expression's value for this alert; ``TemplateError`` when it cannot be evaluated."""
        scope = Scope(trigger=subject.trigger(), results=_EMPTY, errors=_EMPTY, secrets={}, env=_EMPTY,
                      vars=_EMPTY, loop=_EMPTY)  # fmt: skip
        return evaluate_tree(self.expression.tree, self.expression.text, scope)

    def holds(self, subject: Subject) -> bool:
        """Whether the expression's value is truthy for this alert; an expression that fails does not hold."""
        try:
            return truthy(self.value(subject))
        except TemplateError:
            return False

    def why_not(self, subject: Subject) -> str | None:
        """None when the value is truthy, else the value, or why the expression failed."""
        try:
            value = self.value(subject)
        except TemplateError as error:
            return f"{self.text} failed: {error}"
        return None if truthy(value) else f"{self.text} is {value!r}"


def compile_when(text: str) -> When:
    """``text`` parsed (bare, or exactly one ``${{ ... }}``); ``WhenError`` saying what is wrong, and where."""
    try:
        spans = template_spans(text)
    except TemplateSyntaxError as error:
        raise WhenError(str(error)) from None
    stripped = text.strip()
    if not spans:
        body, offset = text, 0
    elif len(spans) == 1 and text[spans[0][0] : spans[0][1]] == stripped:
        body, offset = spans[0][2], spans[0][0] + 3
    else:
        raise WhenError("when must be one expression (bare, or one '${{ ... }}'), not text with templates")
    offset += len(body) - len(body.lstrip())
    if not body.strip():
        raise WhenError("when is empty; write an expression such as TRIGGER.alert.labels.env == 'prod'")
    try:
        expression = parse_expression(body)
    except TemplateSyntaxError as error:
        raise WhenError(str(error), offset + (error.column or 1) - 1) from None
    others = sorted(expression.roots - {"TRIGGER"})
    if others:
        raise WhenError(
            f"when can read only TRIGGER (TRIGGER.alert is the alert), not {', '.join(others)}: nothing has run "
            "yet when an alert is routed",
            offset,
        )
    return When(text, expression)
