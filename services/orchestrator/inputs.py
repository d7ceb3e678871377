"""``entrypoint.expects``: the trigger's ``inputs`` checked and defaulted when a run starts (in the workflow, so a
pure function: the same answer on every replay). A mismatch fails the run before any action starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.model import ExpectedInput

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


class InputsError(ValueError):
    """The trigger's inputs do not match ``entrypoint.expects``; the message lists every mismatch."""


def check_inputs(expects: Mapping[str, ExpectedInput], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``inputs`` with the defaults of missing optional inputs filled in; InputsError naming every problem.
    Inputs not declared pass through (a route may send more than one workflow reads)."""
    problems: list[str] = []
    checked = dict(inputs)
    for name, expected in expects.items():
        if name not in inputs:
            if expected.required:
                problems.append(f"input '{name}' is required ({expected.type})")
            else:
                checked[name] = expected.default
            continue
        value = inputs[name]
        if not _has_type(value, expected.type):
            problems.append(f"input '{name}' must be {expected.type}, got {_kind(value)} {_short(value)}")
        elif expected.enum is not None and value not in expected.enum:
            problems.append(f"input '{name}' must be one of {expected.enum}, got {_short(value)}")
    if problems:
        raise InputsError("entrypoint.expects: " + "; ".join(problems))
    return checked


def _has_type(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if isinstance(value, bool) and kind != "bool":  # a boolean is not a number here (JSON)
        return False
    return isinstance(value, _TYPES[kind])


def _kind(value: Any) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
