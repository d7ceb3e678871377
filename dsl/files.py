"""One way to read every file a user writes (routing, field maps, workflows, webhook credentials, secrets,
workspace variables), and one error for all of them: every problem as ``file:line:col: message``.

A file goes: text (UTF-8) -> ``dsl.positions.parse_yaml`` (YAML, so JSON too; dates stay text; a key given twice
is a problem) -> the file's validator (a pydantic model's ``model_validate`` or any function that raises
``Invalid``) -> its value. Each pydantic error's ``loc`` and each ``Invalid`` problem's path is a path into the
document, which the parse placed at a line and column; the error lists them in line order.

A validator may say more than a path: a pydantic error whose ``ctx`` has ``PROBLEMS`` carries several problems
below its field (``(path below it, message, at_key)`` each), and one with ``OFFSET`` says where inside the field's
string the problem is.

Files that may hold secrets are read with ``quote=False``: no message then quotes the file's text (YAML errors
give only their kind, duplicate keys are not named, and pydantic messages are not used: such a file's validator
raises ``Invalid`` with its own words).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from dsl.positions import ParsedYaml, YamlSyntaxError, parse_yaml
from dsl.problems import Problem

#: ``ctx`` keys a validator may put in a pydantic error: the problems below the field, and where inside the
#: field's string the problem is.
PROBLEMS = "problems"
OFFSET = "offset"

Value = TypeVar("Value")
#: How one pydantic error becomes problems of the file (their messages and where each is).
Describe = Callable[[ErrorDetails], list[Problem]]


def problems_at_keys(code: str, wrong: Sequence[tuple[str, str]]) -> PydanticCustomError:
    """A validator's error for several keys of one mapping field, each placed at its own key: ``wrong`` is
    ``(key, message)`` pairs (e.g. every source name that breaks the rule), ``code`` the pydantic error type."""
    problems = [((key,), message, True) for key, message in wrong]
    return PydanticCustomError(code, "{text}", {"text": wrong[0][1], PROBLEMS: problems})


def count_problems(count: int) -> str:
    """``1 problem``, ``3 problems``."""
    return f"{count} problem{'s' if count != 1 else ''}"


class ConfigFileError(ValueError):
    """A user's file cannot be used; ``problems`` holds each problem as ``file:line:col: message`` (or
    ``file: message`` when the file cannot be read at all).

    Each kind of file has its own subclass (its ``headline`` says which file it is), so callers catch the one they
    load, or this class for any.
    """

    headline = "invalid file"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{self.headline} ({count_problems(len(self.problems))}):\n" + "\n".join(self.problems))

    @property
    def lines(self) -> list[str]:
        """The problems (the name the routing and workflow errors have always used)."""
        return self.problems


class Invalid(ValueError):
    """Raised by a validator that is not a pydantic model: every problem it found, each at its document path."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problem.message for problem in self.problems))


def dotted(loc: Sequence[str | int]) -> str:
    """``sources.edr.title`` (``(top level)`` for the document itself)."""
    return ".".join(str(part) for part in loc) or "(top level)"


def describe(details: ErrorDetails, location: Callable[[Sequence[str | int]], str] = dotted) -> list[Problem]:
    """Pydantic's own message after the error's location (``sources.edr.title: Field required``), at its value,
    or at its key for a key the model does not have; ``PROBLEMS`` and ``OFFSET`` as the module says."""
    loc = tuple(details["loc"])
    context = details.get("ctx", {})
    if PROBLEMS in context:
        return [
            Problem((*loc, *below), f"{location(loc)}: {message}", at_key=at_key)
            for below, message, at_key in context[PROBLEMS]
        ]
    at_key = details["type"] == "extra_forbidden"
    return [Problem(loc, f"{location(loc)}: {details['msg']}", at_key=at_key, offset=context.get(OFFSET))]


def read_text(path: Path, error: type[ConfigFileError]) -> str:
    """The UTF-8 text of ``path``; ``error`` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as failure:
        raise error([f"{path}: cannot read it: {failure.strerror or failure}"]) from None
    except UnicodeDecodeError as failure:
        raise error([unreadable_text(path, failure)]) from None


def unreadable_text(path: Path, failure: UnicodeDecodeError) -> str:
    """The problem line of a file that is not UTF-8 text."""
    return f"{path}: cannot read it: not UTF-8 text ({failure.reason} at byte {failure.start})"


def load_file(
    path: Path,
    validate: Callable[[Any], Value],
    error: type[ConfigFileError] = ConfigFileError,
    *,
    describe: Describe = describe,
    quote: bool = True,
) -> Value:
    """``validate`` the document in the file at ``path``; ``error`` listing every problem."""
    return load_text(read_text(path, error), path, validate, error, describe=describe, quote=quote)


def load_text(
    text: str,
    path: Path,
    validate: Callable[[Any], Value],
    error: type[ConfigFileError] = ConfigFileError,
    *,
    describe: Describe = describe,
    quote: bool = True,
) -> Value:
    """``load_file`` of a file's ``text`` already read (``path`` names it in messages)."""
    try:
        parsed = parse_yaml(text)  # YAML is a superset of JSON: one parser for both
    except YamlSyntaxError as syntax:
        message = str(syntax) if quote else f"invalid YAML ({syntax.kind})"
        raise error([f"{path}:{syntax.line}:{syntax.column}: {message}"]) from None
    problems = parsed.problems if quote else [_unnamed(problem) for problem in parsed.problems]
    if not problems:
        try:
            return validate(parsed.document)
        except Invalid as invalid:
            problems = invalid.problems
        except ValidationError as failure:
            details = failure.errors()
            problems = [problem for one in details for problem in (describe(one) if quote else _kind_only(one))]
    raise error(placed(path, parsed, problems))


def placed(path: Path, parsed: ParsedYaml, problems: Sequence[Problem]) -> list[str]:
    """Each problem as ``file:line:col: message``, in line order."""
    where = sorted((*parsed.position(problem), problem.message) for problem in problems)
    return [f"{path}:{line}:{column}: {message}" for line, column, message in where]


def _kind_only(details: ErrorDetails) -> list[Problem]:
    # Pydantic's messages may quote the value (``Value error, ...`` of a custom check): only the error's kind.
    loc = tuple(details["loc"])
    return [Problem(loc, f"{dotted(loc)}: {details['type']}", at_key=details["type"] == "extra_forbidden")]


def _unnamed(problem: Problem) -> Problem:
    # A duplicate key's message names the key; in a file of secrets, a key may be a value written in the wrong place.
    return Problem(problem.path, "duplicate key (YAML would keep only the last)", problem.at_key)


__all__ = [
    "OFFSET",
    "PROBLEMS",
    "ConfigFileError",
    "Describe",
    "Invalid",
    "count_problems",
    "describe",
    "dotted",
    "load_file",
    "load_text",
    "placed",
    "problems_at_keys",
    "read_text",
    "unreadable_text",
]
