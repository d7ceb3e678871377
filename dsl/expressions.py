"""Parsing of ``${{ ... }}`` template expressions (syntax only; evaluation lives in ``templates``).

Two roots exist today: ``TRIGGER.<path>`` reads the trigger's data and ``ACTIONS.<ref>.result[.<path>]`` reads a
finished action's result. Paths are dotted keys; an all-digit segment indexes a list. New roots (``INPUTS``,
``SECRETS``, functions) are additions to ``parse_expression``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: One template occurrence; the body may not contain ``}}``, so ``${{ a }} and ${{ b }}`` is two expressions.
TEMPLATE = re.compile(r"\$\{\{((?:(?!\}\}).)*)\}\}", re.DOTALL)
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")

Root = Literal["TRIGGER", "ACTIONS"]


class TemplateSyntaxError(ValueError):
    """A ``${{ ... }}`` that is not a valid expression."""


@dataclass(frozen=True)
class Expression:
    """One parsed expression: where to start (root, and ref for ACTIONS) and the path to walk from there."""

    text: str
    root: Root
    path: tuple[str, ...]
    ref: str | None = None


def parse_expression(source: str) -> Expression:
    """Parse the inside of ``${{ ... }}``; raises ``TemplateSyntaxError`` naming the expression."""
    text = source.strip()
    segments = text.split(".")
    if not text or not all(_SEGMENT.match(segment) for segment in segments):
        raise TemplateSyntaxError(f"invalid expression '${{{{ {text} }}}}': expected dotted names like TRIGGER.a.b")
    root, rest = segments[0], tuple(segments[1:])
    if root == "TRIGGER":
        return Expression(text=text, root="TRIGGER", path=rest)
    if root == "ACTIONS":
        if len(rest) < 2 or rest[1] != "result":
            raise TemplateSyntaxError(f"invalid expression '${{{{ {text} }}}}': expected ACTIONS.<ref>.result[.<path>]")
        return Expression(text=text, root="ACTIONS", ref=rest[0], path=rest[2:])
    raise TemplateSyntaxError(f"invalid expression '${{{{ {text} }}}}': unknown root '{root}' (TRIGGER, ACTIONS)")


def expressions_in(value: object) -> list[Expression]:
    """Every expression inside a JSON-like value (strings in nested dicts and lists), in document order."""
    if isinstance(value, str):
        if "${{" in value and value.count("${{") != len(TEMPLATE.findall(value)):
            raise TemplateSyntaxError(f"unterminated template in {value!r}: '${{{{' without '}}}}'")
        return [parse_expression(match) for match in TEMPLATE.findall(value)]
    if isinstance(value, dict):
        return [expr for item in value.values() for expr in expressions_in(item)]
    if isinstance(value, list):
        return [expr for item in value for expr in expressions_in(item)]
    return []
