"""One value of a field map: a JSONPath (``$.rule.name``) or the workflow language (``${{ ... }}``).

An expression reads the message through ``TRIGGER``, as a route's ``when`` and a workflow do: ``TRIGGER.payload``
is the whole message (the decoded body) and ``TRIGGER.item`` the element of ``each`` being read (the message
itself when the map has no ``each``). Nothing else can be read (no ACTIONS, SECRETS, ENV, VARS: nothing has run,
and a map must not leak a secret into an alert), and the functions are the workflows' ``FN.*``: pure, bounded, no
I/O. Three forms:

- ``$.path``: the JSONPath subset of ``jsonpath``, read from the item (what field maps have always been);
- ``${{ expression }}`` alone: the expression's value, of any JSON type;
- text with templates (``"Sentry: ${{ TRIGGER.item.title }}"``): the text with each template's value written in.

Every value is compiled when the file loads; ``MapValueError`` says what is wrong and where in the text. Reading
never raises: a path that leads nowhere and an expression that fails (a missing key, a function refusing its
argument) both read as absent, and ``Reading.failure`` keeps why, for the message of a required field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dsl import nodes
from dsl.errors import TemplateError, TemplateSyntaxError
from dsl.evaluator import Scope
from dsl.evaluator import evaluate as evaluate_tree
from dsl.expressions import Expression, parse_expression, template_spans
from dsl.values import as_text
from services.ingest.parsers.jsonpath import PathError, Step, compile_path, read

#: What an expression may read after ``TRIGGER.``.
MESSAGE_NAMES = ("payload", "item")
_EMPTY: dict[str, object] = {}


class MapValueError(ValueError):
    """A value that is neither a path nor valid expressions; ``offset`` is where in the text, when known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Reading:
    """What a value read: ``value`` (None when absent) and, when an expression failed, why."""

    value: Any
    failure: str | None = None


@dataclass(frozen=True)
class MapValue:
    """A compiled value: ``read(payload, item)``."""

    text: str
    path: tuple[Step, ...] | None
    #: ``(literal text before, expression)`` pairs, then ``tail``; one expression and no text: its value as is.
    parts: tuple[tuple[str, Expression], ...]
    tail: str

    def read(self, payload: Any, item: Any) -> Reading:
        """The value for this message (``item`` is the ``each`` element, or the message)."""
        if self.path is not None:
            return Reading(read(item, self.path))
        scope = Scope(trigger={"payload": payload, "item": item}, results=_EMPTY, errors=_EMPTY, secrets={},
                      env=_EMPTY, vars=_EMPTY, loop=_EMPTY)  # fmt: skip
        values = []
        for _, expression in self.parts:
            try:
                values.append(evaluate_tree(expression.tree, expression.text, scope))
            except TemplateError as error:
                return Reading(None, str(error))
        if len(self.parts) == 1 and not self.parts[0][0] and not self.tail:
            return Reading(values[0])
        return Reading("".join(text + as_text(value) for (text, _), value in zip(self.parts, values, strict=True))
                       + self.tail)  # fmt: skip

    def value(self, payload: Any, item: Any) -> Any:
        """``read``'s value alone (None when absent or failed)."""
        return self.read(payload, item).value


def compile_value(text: str, *, bare: bool = False) -> MapValue:
    """``text`` compiled as a path or as text with ``${{ }}`` templates; ``MapValueError`` otherwise. With
    ``bare`` (a shape's ``when``), text that is neither is one expression, as a route's ``when`` may be."""
    try:
        spans = template_spans(text)
    except TemplateSyntaxError as error:
        raise MapValueError(str(error)) from None
    if not spans and bare and not text.strip().startswith("$"):
        return MapValue(text, None, (("", _expression(text, 0)),), "")
    if not spans:
        try:
            return MapValue(text, compile_path(text.strip()), (), "")
        except PathError as error:
            raise MapValueError(
                f"{error}; or an expression (${{{{ TRIGGER.item.name }}}}, a constant: ${{{{ 'text' }}}})"
            ) from None
    stripped = text.strip()
    if len(spans) == 1 and text[spans[0][0] : spans[0][1]] == stripped:
        # One template and only blanks around it: the value keeps its JSON type.
        return MapValue(text, None, (("", _expression(spans[0][2], spans[0][0] + 3)),), "")
    parts, position = [], 0
    for start, end, body in spans:
        parts.append((text[position:start], _expression(body, start + 3)))
        position = end
    return MapValue(text, None, tuple(parts), text[position:])


def _expression(body: str, offset: int) -> Expression:
    offset += len(body) - len(body.lstrip())
    if not body.strip():
        raise MapValueError("empty '${{ }}'; write an expression such as TRIGGER.item.title", offset)
    try:
        expression = parse_expression(body)
    except TemplateSyntaxError as error:
        raise MapValueError(str(error), offset + (error.column or 1) - 1) from None
    others = sorted(expression.roots - {"TRIGGER"})
    if others:
        raise MapValueError(
            f"a field map can read only TRIGGER.payload (the message) and TRIGGER.item (the 'each' element), not "
            f"{', '.join(others)}",
            offset,
        )
    problem = _trigger_use(expression.tree)
    if problem is not None:
        column, message = problem
        raise MapValueError(message, offset + column - 1)
    return expression


def _trigger_use(tree: nodes.Node) -> tuple[int, str] | None:
    """Where ``TRIGGER`` is used other than as ``TRIGGER.payload`` or ``TRIGGER.item``, and why that is wrong."""
    found = nodes.walk(tree)
    allowed = {
        id(node.value)
        for node in found
        if isinstance(node, nodes.Attribute) and isinstance(node.value, nodes.Root) and node.name in MESSAGE_NAMES
    }
    for node in found:
        if isinstance(node, nodes.Root) and node.name == "TRIGGER" and id(node) not in allowed:
            return node.column, "in a field map, TRIGGER is read as TRIGGER.payload (the message) or TRIGGER.item"
    return None
