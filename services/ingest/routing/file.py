"""Reading a routing file so that every problem names its place: ``routing.yaml:12:9: message``.

The file is read by ``dsl.files`` (as every file a user writes is): it knows where each key and value starts and
refuses a key given twice. The document is then validated by the routing models; each validation error's location
(plus, for a ``match`` or ``when``, where inside it) is mapped back to a line and column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic_core import ErrorDetails

from dsl.files import OFFSET, PROBLEMS, ConfigFileError, describe, dotted, load_file, load_text
from dsl.problems import Problem

__all__ = ["OFFSET", "PLACED", "PROBLEMS", "RoutingFileError", "read_routing_file", "read_routing_text"]

#: Error types whose ``PROBLEMS`` are named by their full path (``routes.2.mute_time_intervals.0: ...``) rather than
#: after the field the validator ran on.
PLACED = frozenset({"routing_reference"})

Table = TypeVar("Table")


class RoutingFileError(ConfigFileError):
    """The routing file cannot be used; ``lines`` are its problems as ``file:line:col: message``."""

    headline = "invalid routing file"


def read_routing_file(path: Path, validate: Callable[[Any], Table]) -> Table:
    """``validate(document)`` of the YAML file at ``path``; ``RoutingFileError`` listing every problem."""
    return load_file(path, validate, RoutingFileError, describe=_problems)


def read_routing_text(text: str, path: Path, validate: Callable[[Any], Table]) -> Table:
    """``validate`` the YAML ``text`` (named ``path`` in messages); ``RoutingFileError`` listing every problem."""
    return load_text(text, path, validate, RoutingFileError, describe=_problems)


def _problems(details: ErrorDetails) -> list[Problem]:
    # A routing file's unknown and missing keys are named after the entry they belong to (``routes.0: unknown key
    # 'colour'``), the words ``alertmesh route`` has always printed.
    loc = tuple(details["loc"])
    if details["type"] == "extra_forbidden":
        return [Problem(loc, f"{dotted(loc[:-1])}: unknown key {loc[-1]!r}", at_key=True)]
    if details["type"] == "missing":
        return [Problem(loc, f"{dotted(loc[:-1])}: {loc[-1]!r} is required")]
    if details["type"] in PLACED:
        # Problems found across the file (a route naming an interval the file lacks): each named by its own place.
        return [
            Problem((*loc, *below), f"{dotted((*loc, *below))}: {message}", at_key=at_key)
            for below, message, at_key in details.get("ctx", {}).get(PROBLEMS, [])
        ]
    return describe(details)
