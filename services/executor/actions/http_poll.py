"""``core.http_poll``: repeat one HTTP request until a condition on the response holds (a scan finishing, a
ticket being assigned), waiting ``interval`` seconds between calls, at most ``max_attempts`` calls.

The condition is an expression of the DSL evaluated here, on each response, as ``var.response``
(``{status_code, headers, data}``). Write it bare, not as a ``${{ }}`` template: templates in args are rendered
before the action runs, when there is no response yet (a template inside it, such as ``${{ TRIGGER.id }}``, is
rendered then, which is how the condition reads the trigger).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field, field_validator

from dsl.errors import TemplateError
from dsl.expressions import parse_expression
from dsl.templates import TemplateContext, evaluate
from dsl.values import truthy
from services.executor.actions.http import HttpRequestArgs, send
from services.executor.actions.registry import action


class PollLimitReached(Exception):
    """The condition did not hold within ``max_attempts`` calls."""


class HttpPollArgs(HttpRequestArgs):
    """Arguments of ``core.http_poll``: one request's arguments, and when and how often to repeat it."""

    until: str = Field(
        description="Expression on `var.response` ({status_code, headers, data}); polling stops when it is truthy."
    )
    interval: float = Field(5.0, ge=0, le=3600, description="Seconds between calls.")
    max_attempts: int = Field(10, ge=1, le=10_000, description="Most calls made before the action fails.")

    @field_validator("until")
    @classmethod
    def _parses(cls, value: str) -> str:
        if "${{" in value:
            raise ValueError("write `until` as a bare expression (it reads var.response), not as ${{ ... }}")
        parse_expression(value)  # a syntax error fails the call before any request, naming the position
        return value


def _holds(until: str, response: dict[str, Any]) -> bool:
    context = TemplateContext(trigger={}, loop={"response": response})
    return truthy(evaluate(parse_expression(until), context))


@action("core.http_poll", description="Repeat an HTTP request until a condition on the response holds.")
async def http_poll(args: HttpPollArgs) -> dict[str, Any]:
    """The first response for which ``until`` holds, with ``polls`` (calls made); PollLimitReached after
    ``max_attempts`` calls without it. Each call is a ``core.http_request`` (same egress policy and failures)."""
    request = HttpRequestArgs.model_validate(args.model_dump(include=set(HttpRequestArgs.model_fields)))
    last: dict[str, Any] = {}
    for poll in range(1, args.max_attempts + 1):
        if poll > 1:
            await asyncio.sleep(args.interval)
        last = await send(request)
        try:
            if _holds(args.until, last):
                return {**last, "polls": poll}
        except TemplateError as error:
            raise TemplateError(f"until: {error}") from None
    raise PollLimitReached(
        f"{args.method} {args.url}: `{args.until}` did not hold after {args.max_attempts} calls "
        f"(last status {last.get('status_code')})"
    )
