"""``retry_until``: the condition an attempt's result must meet, checked by the executor right after the attempt.

A falsy value fails the attempt with error type ``RetryUntil`` (not an infrastructure failure): the workflow's
retry policy then decides whether another attempt runs, as it does for an action that raised. The expression
sees the usual context plus ``ACTIONS.<ref>.result`` = this attempt's result. It may be written bare
(``ACTIONS.poll.result.status == "done"``) or as one template (``${{ ... }}``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dsl.errors import TemplateError
from dsl.expressions import Expression, parse_expression, template_spans
from dsl.templates import TemplateContext, evaluate
from dsl.values import truthy

#: Error type of an attempt whose result did not meet its ``retry_until``.
RETRY_UNTIL = "RetryUntil"


def retry_until_expression(text: str) -> Expression:
    """The one expression ``text`` holds, bare or as ``${{ ... }}``; TemplateError if it holds more or less."""
    spans = template_spans(text)
    if not spans:
        return parse_expression(text)
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(text.strip()):
        return parse_expression(spans[0][2])
    raise TemplateError(f"retry_until must be one expression, not a text with templates: {text!r}")


def holds(text: str, ref: str, result: Any, context: TemplateContext) -> bool:
    """Whether ``retry_until`` ``text`` is truthy with ``ACTIONS.<ref>.result`` = ``result``."""
    expression = retry_until_expression(text.strip())
    with_result = replace(context, results={**context.results, ref: result})
    return truthy(evaluate(expression, with_result))
