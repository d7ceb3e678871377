"""The syntax tree of an expression: small immutable nodes, each knowing the column it starts at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: Roots that read a whole mapping of the context and may be followed by any path.
MappingRoot = Literal["TRIGGER", "ENV", "VARS", "var"]


@dataclass(frozen=True)
class Literal_:
    """A constant: number, string, boolean or null."""

    value: Any
    column: int


@dataclass(frozen=True)
class Root:
    """``TRIGGER``, ``ENV``, ``VARS`` or ``var``: the whole mapping."""

    name: MappingRoot
    column: int


@dataclass(frozen=True)
class ActionRef:
    """``ACTIONS.<ref>.result`` or ``ACTIONS.<ref>.error``."""

    ref: str
    part: Literal["result", "error"]
    column: int


@dataclass(frozen=True)
class Secret:
    """``SECRETS.<name>.<KEY>``: one key of one secret (named statically, so it can be checked before a run)."""

    name: str
    key: str
    column: int


@dataclass(frozen=True)
class Attribute:
    """``value.name``: a key of a mapping (or an all-digit name indexing a list)."""

    value: Node
    name: str
    column: int


@dataclass(frozen=True)
class Index:
    """``value[index]``: a key of a mapping, an index into a list or a string (negative from the end)."""

    value: Node
    index: Node
    column: int


@dataclass(frozen=True)
class Call:
    """``FN.<name>(args...)``."""

    name: str
    args: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Unary:
    """``-x`` or ``not x``."""

    op: Literal["-", "not"]
    operand: Node
    column: int


@dataclass(frozen=True)
class Binary:
    """Arithmetic, comparison, membership and the short-circuit ``&&``/``||``."""

    op: str
    left: Node
    right: Node
    column: int


@dataclass(frozen=True)
class Conditional:
    """``then if condition else otherwise``: only the branch taken is evaluated."""

    then: Node
    condition: Node
    otherwise: Node
    column: int


@dataclass(frozen=True)
class ListDisplay:
    """``[a, b, ...]``."""

    items: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class DictDisplay:
    """``{"key": value, ...}``; keys are expressions that must evaluate to strings."""

    entries: tuple[tuple[Node, Node], ...]
    column: int


Node = (
    Literal_
    | Root
    | ActionRef
    | Secret
    | Attribute
    | Index
    | Call
    | Unary
    | Binary
    | Conditional
    | ListDisplay
    | DictDisplay
)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``."""
    if isinstance(node, Attribute):
        return (node.value,)
    if isinstance(node, Index):
        return (node.value, node.index)
    if isinstance(node, Call | ListDisplay):
        return node.args if isinstance(node, Call) else node.items
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Conditional):
        return (node.then, node.condition, node.otherwise)
    if isinstance(node, DictDisplay):
        return tuple(part for entry in node.entries for part in entry)
    return ()


def walk(node: Node) -> list[Node]:
    """``node`` and every node below it (iteratively: trees are bounded, but this never recurses anyway)."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children(current))
    return found
