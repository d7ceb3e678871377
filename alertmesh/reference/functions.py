"""The ``FN.*`` reference page, from the function registry: each function's call shape and its docstring."""

from __future__ import annotations

import inspect
import sys
from itertools import groupby

from alertmesh.reference.markdown import GENERATED_NOTE
from dsl.functions import FUNCTIONS, Function

#: Where the language's functions live.
BUILT_IN_PACKAGE = "dsl.functions"


def call_shape(function: Function) -> str:
    """How a call is written: ``FN.split(value[, separator[, limit]])``, ``FN.concat(values...)``."""
    required: list[str] = []
    optional: list[str] = []
    variadic = ""
    for parameter in inspect.signature(function.code).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            variadic = f"{parameter.name}..."
        elif parameter.default is inspect.Parameter.empty:
            required.append(parameter.name)
        else:
            optional.append(parameter.name)
    text = ", ".join(required)
    if variadic:
        text = f"{text}, {variadic}" if text else variadic
    # Nested: a later optional argument can be given only with the ones before it.
    for name in optional:
        text += f"[, {name}" if text else f"[{name}"
    return f"FN.{function.name}({text}{']' * len(optional)})"


def _theme(function: Function) -> str:
    return function.code.__module__


def _theme_title(module_name: str) -> tuple[str, str]:
    """A theme module's heading and introduction, from its docstring (first sentence and the rest)."""
    doc = inspect.getdoc(sys.modules[module_name]) or module_name
    first, _, rest = doc.partition("\n\n")
    sentence, _, after = " ".join(first.split()).partition(". ")
    heading, _, more = sentence.partition(": ")
    more = " ".join(part for part in (more, after) if part)
    introduction = " ".join(" ".join(part.split()) for part in (more, rest) if part).strip()
    return heading.rstrip("."), introduction[:1].upper() + introduction[1:]


def render() -> str:
    """The page's Markdown."""
    # Only the functions the language ships: the page is checked in, so it must not depend on what else a process
    # happened to register.
    shipped = [function for function in FUNCTIONS.values() if _theme(function).startswith(BUILT_IN_PACKAGE + ".")]
    lines = [
        GENERATED_NOTE,
        "",
        "# Expression functions (`FN.*`)",
        "",
        "Every function an expression can call as `FN.<name>(...)`, by theme, with its docstring. "
        "The language around them (values, paths, operators, limits) is in "
        "[Workflows: expressions](../workflows.md#expressions). "
        "Every function is pure and checks its arguments: misuse is an error naming the function. "
        f"{len(shipped)} functions.",
    ]
    ordered = sorted(shipped, key=lambda function: (_theme(function), function.name))
    for module_name, group in groupby(ordered, key=_theme):
        heading, introduction = _theme_title(module_name)
        lines += ["", f"## {heading}", ""]
        if introduction:
            lines += [introduction, ""]
        for function in group:
            lines += [f"### `{call_shape(function)}`", "", function.doc.strip(), ""]
        lines.pop()
    return "\n".join(lines) + "\n"
