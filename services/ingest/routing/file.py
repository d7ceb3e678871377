"""Reading a routing file so that every problem names its place: ``routing.yaml:12:9: message``.

The YAML is read with ``dsl.positions.parse_yaml`` (as workflow files are), which knows where each key and value
starts and refuses a key given twice. The document is then validated by the routing models; each validation
error's location (plus, for a ``match`` or ``when``, where inside it) is mapped back to a line and column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from dsl.positions import ParsedYaml, YamlSyntaxError, parse_yaml
from dsl.problems import Problem

#: ``ctx`` keys the routing models put in their errors: the problems below the field (``(path below it, message,
#: at_key)`` each), and where inside the field's string the problem is.
PROBLEMS = "problems"
OFFSET = "offset"

Table = TypeVar("Table")


class RoutingFileError(ValueError):
    """The routing file cannot be used; ``lines`` are its problems as ``file:line:col: message``."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        count = f"{len(lines)} problem{'s' if len(lines) != 1 else ''}"
        super().__init__(f"invalid routing file ({count}):\n" + "\n".join(lines))


def read_routing_file(path: Path, validate: Callable[[Any], Table]) -> Table:
    """``validate(document)`` of the YAML file at ``path``; ``RoutingFileError`` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise RoutingFileError([f"{path}: cannot read it: {reason}"]) from None
    return read_routing_text(text, path, validate)


def read_routing_text(text: str, path: Path, validate: Callable[[Any], Table]) -> Table:
    """``validate`` the YAML ``text`` (named ``path`` in messages); ``RoutingFileError`` listing every problem."""
    try:
        parsed = parse_yaml(text)
    except YamlSyntaxError as error:
        raise RoutingFileError([f"{path}:{error.line}:{error.column}: {error}"]) from None
    problems = list(parsed.problems)
    if not problems:
        try:
            return validate(parsed.document)
        except ValidationError as error:
            problems = [problem for details in error.errors() for problem in _problems(details)]
    raise RoutingFileError(_lines(path, parsed, problems))


def _problems(details: ErrorDetails) -> list[Problem]:
    loc = tuple(details["loc"])
    context = details.get("ctx", {})
    dotted = ".".join(str(part) for part in loc) or "(top level)"
    if PROBLEMS in context:
        return [
            Problem((*loc, *below), f"{dotted}: {message}", at_key=at_key)
            for below, message, at_key in context[PROBLEMS]
        ]
    return [_problem(details, loc, dotted, context.get(OFFSET))]


def _problem(details: ErrorDetails, loc: tuple[str | int, ...], dotted: str, offset: int | None) -> Problem:
    at_key = details["type"] == "extra_forbidden"
    message = details["msg"]
    if details["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
        dotted = ".".join(str(part) for part in loc[:-1]) or "(top level)"
    elif details["type"] == "missing":
        message = f"{loc[-1]!r} is required"
        dotted = ".".join(str(part) for part in loc[:-1]) or "(top level)"
    return Problem(loc, f"{dotted}: {message}", at_key=at_key, offset=offset)


def _lines(path: Path, parsed: ParsedYaml, problems: list[Problem]) -> list[str]:
    placed = sorted((*parsed.position(problem), problem.message) for problem in problems)
    return [f"{path}:{line}:{column}: {message}" for line, column, message in placed]
