"""What the expression language means by truth, equality, type names and text, for JSON values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def type_name(value: Any) -> str:
    """The JSON name of ``value``'s type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """An int or float but not a bool (JSON keeps them apart even though Python does not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def truthy(value: Any) -> bool:
    """null, false, 0, "", [] and {} are false; everything else is true (as in Python and JavaScript, mostly)."""
    return bool(value)


def equal(left: Any, right: Any) -> bool:
    """JSON equality: like Python's, except that a boolean never equals a number (``true == 1`` is false)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(equal(left[key], right[key]) for key in left)
    return bool(left == right)


def as_text(value: Any) -> str:
    """How a value reads inside a longer string: strings as is, null as "", anything else compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
