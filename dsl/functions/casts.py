"""JSON and cast functions: converting between text and values."""

from __future__ import annotations

import json
import math
from typing import Any

from dsl.functions.args import fail, text
from dsl.functions.limits import check_size
from dsl.functions.previews import preview
from dsl.functions.registry import function
from dsl.values import as_text, is_number


# -- JSON ----------------------------------------------------------------------------------------------------------
@function("to_json")
def to_json(value: Any) -> str:
    """``value`` as compact JSON text."""
    return check_size("FN.to_json", json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False))


def _refuse_constant(name: str) -> Any:
    raise fail("from_json", f"{name} is not valid JSON")


@function("from_json")
def from_json(value: Any) -> Any:
    """The value the JSON text ``value`` encodes."""
    try:
        return json.loads(text("from_json", value), parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise fail("from_json", f"invalid JSON: {error}") from None
    except RecursionError:
        raise fail("from_json", "the JSON is nested too deeply") from None


# -- casts ---------------------------------------------------------------------------------------------------------
@function("to_int")
def to_int(value: Any) -> int:
    """``value`` as an integer: numbers are truncated, strings parsed in base 10, booleans are 0 or 1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise fail("to_int", "not a finite number")
        return int(value)
    if isinstance(value, str) and len(value.strip()) <= 30:
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise fail("to_int", f"cannot convert {preview(value)} to an integer")


@function("to_float")
def to_float(value: Any) -> float:
    """``value`` as a number with a fraction: numbers, numeric strings and booleans convert."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and len(value.strip()) <= 400:
        try:
            converted = float(value.strip())
        except ValueError:
            converted = math.nan
        if math.isfinite(converted):
            return converted
    raise fail("to_float", f"cannot convert {preview(value)} to a finite number")


@function("to_str")
def to_str(value: Any) -> str:
    """``value`` as text, as interpolation writes it: strings as is, null as "", anything else compact JSON."""
    return check_size("FN.to_str", as_text(value))


_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0", ""}


@function("to_bool")
def to_bool(value: Any) -> bool:
    """``value`` as a boolean: "true/yes/on/1" and "false/no/off/0/" (any case), numbers (non-zero is true),
    null (false)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if is_number(value):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise fail("to_bool", f"cannot convert {preview(value)} to a boolean")
