"""Evaluation of an expression tree against a context: pure, deterministic, and only ever raising TemplateError.

Values are JSON values. Only mapping keys and list/string indexes are reachable (never Python attributes).
``&&`` and ``||`` short-circuit and return a boolean (the truthiness of the deciding operand), so
``a || "default"`` is a boolean, not a fallback value: use ``a if a else "default"`` or ``FN.get`` for that.
Numbers stay within 64-bit integers and finite floats, so every result is valid JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from dsl import nodes
from dsl.errors import TemplateError
from dsl.functions import FUNCTIONS
from dsl.functions.limits import check_size
from dsl.functions.previews import hidden
from dsl.values import equal, is_number, truthy, type_name

MAX_INT = 2**63 - 1


class Scope:
    """What the roots read; built by ``templates.TemplateContext``."""

    def __init__(
        self,
        *,
        trigger: Mapping[str, Any],
        results: Mapping[str, Any],
        errors: Mapping[str, Any],
        secrets: Mapping[str, Mapping[str, str]],
        env: Mapping[str, Any],
        vars: Mapping[str, Any],
        loop: Mapping[str, Any],
    ) -> None:
        self.roots: dict[str, Mapping[str, Any]] = {"TRIGGER": trigger, "ENV": env, "VARS": vars, "var": loop}
        self.results = results
        self.errors = errors
        self.secrets = secrets


class _Failure(Exception):
    """Raised inside evaluation; ``evaluate`` turns it into a TemplateError naming the expression."""


def evaluate(tree: nodes.Node, text: str, scope: Scope) -> Any:
    """The value of ``tree`` (parsed from ``text``); ``TemplateError`` naming the expression on any problem."""
    try:
        return _eval(tree, scope)
    except (_Failure, TemplateError) as error:
        raise TemplateError(f"'${{{{ {text} }}}}': {error}") from None
    except RecursionError:
        # Only data can get here (trees are at most MAX_DEPTH deep): comparing or encoding a value nested
        # hundreds of levels deep, from a trigger or an action result.
        raise TemplateError(f"'${{{{ {text} }}}}': a value is nested too deeply to compare or encode") from None


def _eval(node: nodes.Node, scope: Scope) -> Any:
    # One dictionary lookup on the node's exact type instead of a chain of isinstance checks: this runs for every
    # node of every expression, and the nodes are final dataclasses (never subclassed).
    return _EVALUATORS[type(node)](node, scope)


def _literal(node: nodes.Literal_, scope: Scope) -> Any:
    return node.value


def _root(node: nodes.Root, scope: Scope) -> Any:
    return scope.roots[node.name]


def _action_ref(node: nodes.ActionRef, scope: Scope) -> Any:
    source = scope.results if node.part == "result" else scope.errors
    if node.ref not in source:
        raise _Failure(f"action '{node.ref}' has no {node.part}")
    return source[node.ref]


def _secret(node: nodes.Secret, scope: Scope) -> Any:
    if node.name not in scope.secrets:
        raise _Failure(f"no secret '{node.name}'")
    if node.key not in scope.secrets[node.name]:
        raise _Failure(f"secret '{node.name}' has no key '{node.key}'")
    return scope.secrets[node.name][node.key]


def _attribute(node: nodes.Attribute, scope: Scope) -> Any:
    return _key(_eval(node.value, scope), node.name, node.value, attribute=True)


def _index(node: nodes.Index, scope: Scope) -> Any:
    return _key(_eval(node.value, scope), _eval(node.index, scope), node.value, attribute=False)


def _unary(node: nodes.Unary, scope: Scope) -> Any:
    operand = _eval(node.operand, scope)
    if node.op == "not":
        return not truthy(operand)
    if not is_number(operand):
        raise _Failure(f"cannot negate a {type_name(operand)}")
    return _number(-operand)


def _conditional(node: nodes.Conditional, scope: Scope) -> Any:
    return _eval(node.then if truthy(_eval(node.condition, scope)) else node.otherwise, scope)


def _list(node: nodes.ListDisplay, scope: Scope) -> list[Any]:
    return [_eval(item, scope) for item in node.items]


def _dict(node: nodes.DictDisplay, scope: Scope) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key_node, value_node in node.entries:
        key = _eval(key_node, scope)
        if not isinstance(key, str):
            raise _Failure(f"object keys must be strings, not a {type_name(key)}")
        result[key] = _eval(value_node, scope)
    return result


def _where(node: nodes.Node) -> str:
    """The path from the root to ``node`` for messages: ``alert.labels``, ``items[0]``, or ``<root>``."""
    parts: list[str] = []
    while isinstance(node, nodes.Attribute | nodes.Index):
        if isinstance(node, nodes.Attribute):
            parts.append(f".{node.name}")
        else:
            index = node.index
            parts.append(f"[{index.value!r}]" if isinstance(index, nodes.Literal_) else "[...]")
        node = node.value
    if not isinstance(node, nodes.Root | nodes.ActionRef | nodes.Secret):
        return "<value>" + "".join(reversed(parts))
    return "".join(reversed(parts)).lstrip(".") or "<root>"


def _key(value: Any, key: Any, node: nodes.Node, *, attribute: bool) -> Any:
    """``value[key]``: a mapping key, or a list/string index (an all-digit name after a dot indexes a list).

    The path for messages (``_where``) is worked out only on failure: lookups that succeed are the common case."""
    if isinstance(value, Mapping):
        if not isinstance(key, str):
            raise _Failure(f"object keys are strings; cannot index {_where(node)} with a {type_name(key)}")
        if key not in value:
            raise _Failure(f"no key {_shown(key)} in {_where(node)}")
        return value[key]
    if isinstance(value, list | str):
        if attribute and isinstance(key, str) and key.isdigit():
            key = int(key)
        if not isinstance(key, int) or isinstance(key, bool) or not -len(value) <= key < len(value):
            kind = "list" if isinstance(value, list) else "string"
            raise _Failure(f"no index {_shown(key)} in {_where(node)} (a {kind} of {len(value)})")
        return value[key]
    kind = type(value).__name__
    raise _Failure(f"no key {_shown(key)} in {_where(node)} (a {kind})")


def _shown(key: Any) -> str:
    # A key computed from a secret (``TRIGGER.x[FN.upper(SECRETS.a.B)]``) must not be quoted: hidden, as the
    # functions' previews are, when the step read a secret (``dsl.functions.previews``).
    return f"a key of {len(str(key))} characters (not shown: the step read a secret)" if hidden() else f"'{key}'"


def _call(node: nodes.Call, scope: Scope) -> Any:
    args = [_eval(arg, scope) for arg in node.args]
    # The function table checks every result is JSON (finite numbers, signed or unsigned 64-bit integers, inside
    # lists and objects too): one rule for a number at the top and one nested.
    return FUNCTIONS[node.name].call(*args)


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise _Failure("the result is not a finite number")
    if isinstance(value, int) and not -MAX_INT - 1 <= value <= MAX_INT:
        raise _Failure("the result does not fit in a 64-bit integer")
    return value


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return check_size("operator '+'", left + right)
    if op == "+" and isinstance(left, list) and isinstance(right, list):
        return check_size("operator '+'", left + right)
    if not (is_number(left) and is_number(right)):
        raise _Failure(f"cannot apply '{op}' to a {type_name(left)} and a {type_name(right)}")
    if op in "/%" and right == 0:
        raise _Failure("division by zero" if op == "/" else "modulo by zero")
    operations: dict[str, Callable[[Any, Any], Any]] = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "%": lambda a, b: a % b,
    }
    return _number(operations[op](left, right))


def _order(op: str, left: Any, right: Any) -> bool:
    comparable = (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str))
    if not comparable:
        raise _Failure(f"cannot compare a {type_name(left)} and a {type_name(right)} with '{op}'")
    outcomes: dict[str, bool] = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
    return outcomes[op]


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _Failure(f"'in' a string needs a string on the left, not a {type_name(item)}")
        return item in container
    if isinstance(container, Mapping):
        return isinstance(item, str) and item in container
    if isinstance(container, list):
        return any(equal(item, element) for element in container)
    raise _Failure(f"'in' needs a list, object or string on the right, not a {type_name(container)}")


def _binary(node: nodes.Binary, scope: Scope) -> Any:
    left = _eval(node.left, scope)
    if node.op == "&&":
        return truthy(left) and truthy(_eval(node.right, scope))
    if node.op == "||":
        return truthy(left) or truthy(_eval(node.right, scope))
    right = _eval(node.right, scope)
    if node.op == "==":
        return equal(left, right)
    if node.op == "!=":
        return not equal(left, right)
    if node.op in ("in", "not in"):
        return _contains(right, left) == (node.op == "in")
    if node.op in ("<", "<=", ">", ">="):
        return _order(node.op, left, right)
    return _arithmetic(node.op, left, right)


#: How each kind of node is evaluated, keyed by its exact type (``_eval``).
_EVALUATORS: dict[type, Callable[[Any, Scope], Any]] = {
    nodes.Literal_: _literal,
    nodes.Root: _root,
    nodes.ActionRef: _action_ref,
    nodes.Secret: _secret,
    nodes.Attribute: _attribute,
    nodes.Index: _index,
    nodes.Call: _call,
    nodes.Unary: _unary,
    nodes.Binary: _binary,
    nodes.Conditional: _conditional,
    nodes.ListDisplay: _list,
    nodes.DictDisplay: _dict,
}
