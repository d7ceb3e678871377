"""Argument checks shared by the functions: each names the function so the user knows which call is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.errors import TemplateError
from dsl.functions.limits import MAX_TEXT
from dsl.values import is_number, type_name


def fail(name: str, problem: str) -> TemplateError:
    """The error for misuse of ``FN.<name>``."""
    return TemplateError(f"FN.{name}: {problem}")


def text(name: str, value: Any, what: str = "argument") -> str:
    """``value`` if it is a string no longer than the text limit."""
    if not isinstance(value, str):
        raise fail(name, f"{what} must be a string, not a {type_name(value)}")
    if len(value) > MAX_TEXT:
        raise fail(name, f"{what} is longer than {MAX_TEXT} characters")
    return value


def integer(name: str, value: Any, what: str = "argument") -> int:
    """``value`` if it is an integer (not a boolean; a float with no fraction is accepted)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise fail(name, f"{what} must be an integer, not a {type_name(value)}")
    return value


def number(name: str, value: Any, what: str = "argument") -> int | float:
    """``value`` if it is a number (not a boolean)."""
    if not is_number(value):
        raise fail(name, f"{what} must be a number, not a {type_name(value)}")
    return value  # type: ignore[no-any-return]  # is_number narrowed it to int | float


def items(name: str, value: Any, what: str = "argument") -> list[Any]:
    """``value`` if it is a list."""
    if not isinstance(value, list):
        raise fail(name, f"{what} must be a list, not a {type_name(value)}")
    return value


def mapping(name: str, value: Any, what: str = "argument") -> Mapping[str, Any]:
    """``value`` if it is an object."""
    if not isinstance(value, Mapping):
        raise fail(name, f"{what} must be an object, not a {type_name(value)}")
    return value


def boolean(name: str, value: Any, what: str = "argument") -> bool:
    """``value`` if it is a boolean."""
    if not isinstance(value, bool):
        raise fail(name, f"{what} must be a boolean, not a {type_name(value)}")
    return value
