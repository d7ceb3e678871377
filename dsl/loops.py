"""The ``for_each`` header: ``${{ for var.x in <expr> }}``, one loop variable bound to each item of a list.

A list of headers zips: item ``i`` binds every variable to the ``i``-th item of its list, and the lists must be
equally long (``zip_items`` says which is not).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dsl.errors import TemplateError, TemplateSyntaxError
from dsl.expressions import Expression, parse_expression, template_spans

_HEADER = re.compile(r"^for\s+var\.([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(\S.*)$", re.DOTALL)


@dataclass(frozen=True)
class LoopHeader:
    """``for var.<name> in <iterable>``."""

    name: str
    iterable: Expression


def parse_for_each(value: str | Sequence[str]) -> list[LoopHeader]:
    """The headers of a ``for_each`` value; ``TemplateSyntaxError`` naming the header and what is wrong."""
    headers = [_parse_header(item) for item in ([value] if isinstance(value, str) else value)]
    names = [header.name for header in headers]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise TemplateSyntaxError(f"for_each binds var.{repeated[0]} more than once")
    if not headers:
        raise TemplateSyntaxError("for_each is an empty list")
    return headers


def _parse_header(text: str) -> LoopHeader:
    spans = template_spans(text)
    if len(spans) != 1 or spans[0][0] != 0 or spans[0][1] != len(text.strip()):
        raise TemplateSyntaxError(f"for_each {text!r} must be exactly one '${{{{ for var.<name> in <expr> }}}}'")
    body = spans[0][2].strip()
    match = _HEADER.match(body)
    if match is None:
        raise TemplateSyntaxError(f"for_each '${{{{ {body} }}}}' must read 'for var.<name> in <expression>'")
    return LoopHeader(match.group(1), parse_expression(match.group(2)))


def zip_items(headers: Sequence[LoopHeader], iterables: Sequence[Any]) -> list[dict[str, Any]]:
    """The loop variables of each item, in order; ``TemplateError`` if a value is not a list or lengths differ."""
    for header, iterable in zip(headers, iterables, strict=True):
        if not isinstance(iterable, list):
            kind = type(iterable).__name__ if iterable is not None else "null"
            raise TemplateError(f"for_each var.{header.name}: '{header.iterable.text}' is a {kind}, not a list")
    lengths = {header.name: len(iterable) for header, iterable in zip(headers, iterables, strict=True)}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"var.{name} has {n}" for name, n in lengths.items())
        raise TemplateError(f"for_each lists differ in length ({shown}); zipped lists must be equally long")
    count = next(iter(lengths.values()))
    return [
        {header.name: iterable[i] for header, iterable in zip(headers, iterables, strict=True)} for i in range(count)
    ]
