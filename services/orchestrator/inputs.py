"""``entrypoint.expects``: the trigger's ``inputs`` checked and defaulted when a run starts (in the workflow, so a
pure function: the same answer on every replay). A mismatch fails the run before any action starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.input_types import matches
from dsl.model import ExpectedInput


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
        if not matches(expected.type, value):
            problems.append(f"input '{name}' must be {expected.type}, got {_kind(value)} {_short(value)}")
        elif expected.enum is not None and value not in expected.enum:
            problems.append(f"input '{name}' must be one of {expected.enum}, got {_short(value)}")
    if problems:
        raise InputsError("entrypoint.expects: " + "; ".join(problems))
    return checked


def _kind(value: Any) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
