"""The function table behind ``FN.<name>(...)``: each entry knows its arity, so calls are checked when parsed."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
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
            return self.code(*args)
        except TemplateError:
            raise
        except (ValueError, TypeError, ArithmeticError, LookupError, re.error, RecursionError) as error:
            # A safety net: functions check their arguments, but a library call may still refuse a value in a
            # way we did not foresee; the user must get a TemplateError naming the function, not a crash. What the
            # library said may quote the argument: hidden when the step read a secret.
            raise TemplateError(f"FN.{self.name}: {library_problem(error)}") from None


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
