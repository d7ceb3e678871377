"""The function table behind ``FN.<name>(...)``: each entry knows its arity, so calls are checked when parsed.

Every result is JSON, checked here once for all functions rather than trusted to each: a function that parses or
computes numbers (``from_json`` reads ``1e400`` as infinity and ``2**70`` as a Python int, ``sum`` adds past 64
bits) must not hand the workflow a value that no JSON encoder writes, anywhere inside it.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from dsl.errors import TemplateError
from dsl.functions.previews import library_problem


@dataclass(frozen=True)
class Function:
    """One callable function: its name, the Python code, how many arguments it takes, and its docstring."""

    name: str
    code: Callable[..., Any]
    min_args: int
    max_args: int | None
    doc: str

    def arity_problem(self, count: int) -> str | None:
        """Why ``count`` arguments are wrong for this function, or None."""
        if self.min_args <= count and (self.max_args is None or count <= self.max_args):
            return None
        if self.max_args is None:
            wanted = f"at least {self.min_args}"
        elif self.min_args == self.max_args:
            wanted = str(self.min_args)
        else:
            wanted = f"{self.min_args} to {self.max_args}"
        return f"FN.{self.name} takes {wanted} argument{'' if wanted == '1' else 's'}, not {count}"

    def call(self, *args: Any) -> Any:
        """Run the function; misuse is a TemplateError naming it."""
        problem = self.arity_problem(len(args))
        if problem:
            raise TemplateError(problem)
        try:
            result = self.code(*args)
        except TemplateError:
            raise
        except (ValueError, TypeError, ArithmeticError, LookupError, re.error, RecursionError) as error:
            # A safety net: functions check their arguments, but a library call may still refuse a value in a
            # way we did not foresee; the user must get a TemplateError naming the function, not a crash. What the
            # library said may quote the argument: hidden when the step read a secret.
            raise TemplateError(f"FN.{self.name}: {library_problem(error)}") from None
        problem = not_json(result)
        if problem:
            raise TemplateError(f"FN.{self.name}: the result {problem}")
        return result


#: The integers JSON encoders write exactly (orjson's range: signed or unsigned 64-bit).
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**64 - 1


def not_json(value: Any) -> str | None:
    """Why ``value`` cannot be written as JSON (a non-finite number, an integer beyond 64 bits, a non-string key),
    saying where in it; None when it can. Iterative, so a deep value cannot exhaust the stack."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        problem = _number_problem(item)
        if problem:
            return f"holds {problem}{_at(where)}"
        if isinstance(item, list | tuple):
            stack.extend((element, f"{where}[{index}]") for index, element in enumerate(item))
        elif isinstance(item, Mapping):
            for key, element in item.items():
                if not isinstance(key, str):
                    return f"holds a non-string key{_at(where)}"
                stack.append((element, f"{where}.{key}" if key.isidentifier() else f"{where}[{key!r}]"))
    return None


def _number_problem(item: Any) -> str | None:
    if isinstance(item, float) and not math.isfinite(item):
        return f"{item} (not a finite number)"
    if isinstance(item, int) and not isinstance(item, bool) and not MIN_JSON_INT <= item <= MAX_JSON_INT:
        return "an integer beyond 64 bits"
    return None


def _at(where: str) -> str:
    return f" at {where.removeprefix('.')}" if where else ""


#: Every function by name; filled by the theme modules when ``dsl.functions`` is imported.
FUNCTIONS: dict[str, Function] = {}

F = TypeVar("F", bound=Callable[..., Any])


def function(name: str) -> Callable[[F], F]:
    """Register the decorated Python function as ``FN.<name>``; its signature gives the arity."""

    def register(code: F) -> F:
        parameters = inspect.signature(code).parameters.values()
        positional = [p for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
        required = sum(1 for p in positional if p.default is inspect.Parameter.empty)
        doc = inspect.getdoc(code)
        if not doc:
            raise ValueError(f"FN.{name} needs a docstring")  # the docstring is the user's documentation
        FUNCTIONS[name] = Function(name, code, required, None if variadic else len(positional), doc)
        return code

    return register
