"""The types ``entrypoint.expects`` inputs may declare, as JSON values: what a value must be to match one."""

from __future__ import annotations

from typing import Any


def matches(type_name: str, value: Any) -> bool:
    """Whether ``value`` is a ``type_name`` (``str int float bool list dict any``); an int is a float too, a bool
    is neither an int nor a float."""
    if type_name == "any":
        return True
    if type_name == "bool" or isinstance(value, bool):
        return type_name == "bool" and isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int)
    if type_name == "float":
        return isinstance(value, int | float)
    kinds: dict[str, type] = {"str": str, "list": list, "dict": dict}
    return type_name in kinds and isinstance(value, kinds[type_name])
