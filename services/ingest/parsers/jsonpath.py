"""The JSONPath subset field maps use: ``$``, ``.name``, ``['any name']`` and ``[index]`` (negative from the end).

Paths are compiled once, when the field-map file loads, into steps; reading one is a walk of dicts and lists, with
no parsing per alert. A path that leads nowhere (a missing key, an index past the end, a step into a scalar) reads
as None: the field is absent, never an error, since senders leave optional fields out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: One step after ``$``: ``.name``, ``['quoted name']`` / ``["quoted name"]``, or ``[index]``.
_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_@$][\w@$-]*)|\[(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<index>-?\d+))\]"""
)

Step = str | int


class PathError(ValueError):
    """A path outside the subset; the message shows where it stops making sense."""


def compile_path(path: str) -> tuple[Step, ...]:
    """``$.a['b c'][0]`` -> ``('a', 'b c', 0)``; raises ``PathError`` for anything else."""
    if not path.startswith("$"):
        raise PathError(f"path {path!r} must start with '$' (e.g. $.alert.title)")
    steps: list[Step] = []
    position = 1
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            raise PathError(
                f"path {path!r}: cannot read {path[position:]!r} (use .name, ['name'] or [index]; no wildcards)"
            )
        index = match.group("index")
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(next(group for group in match.group("name", "single", "double") if group is not None))
        position = match.end()
    return tuple(steps)


def read(document: Any, steps: tuple[Step, ...]) -> Any:
    """The value at ``steps`` in ``document``, or None when the path leads nowhere."""
    value = document
    for step in steps:
        if isinstance(step, str):
            if not isinstance(value, Mapping):
                return None
            value = value.get(step)
        else:
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
            value = value[step]
        if value is None:
            return None
    return value
