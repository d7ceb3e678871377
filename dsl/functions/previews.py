"""How a function's error message shows the value it refused, and when it must not show it at all.

A message that quotes the value helps the author of a workflow (``cannot convert "12a" to an integer``), but the
value may come from ``SECRETS``, and a quoted part of it (cut, upper-cased, decoded: no longer the exact bytes) is
beyond any masking. So whoever evaluates expressions that read a secret evaluates them inside ``values_hidden()``
(the executor renders a failed step's arguments again that way when the step read one), and every preview, in
every function's message, then names only the value's type and length.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dsl.values import as_text, type_name

#: The longest preview shown (when values are not hidden); longer values are cut, with ``...``.
MAX_PREVIEW_CHARS = 60

_hidden: ContextVar[bool] = ContextVar("alertmesh_dsl_values_hidden", default=False)


@contextmanager
def values_hidden() -> Iterator[None]:
    """Within it, ``preview`` never quotes a value, and ``library_problem`` drops what a library said."""
    token = _hidden.set(True)
    try:
        yield
    finally:
        _hidden.reset(token)


def hidden() -> bool:
    """True inside ``values_hidden()``."""
    return _hidden.get()


def preview(value: Any) -> str:
    """``value`` as a message quotes it: a string in JSON quotes, anything else as JSON, cut past
    ``MAX_PREVIEW_CHARS``; inside ``values_hidden()`` only its type and length (``a string of 64 characters``)."""
    if hidden():
        return _described(value)
    shown = as_text(value) if not isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= MAX_PREVIEW_CHARS else shown[: MAX_PREVIEW_CHARS - 3] + "..."


def quoted(source: str, limit: int = 64) -> str:
    """``source``'s first ``limit`` characters as Python quotes them (``'nope'``); inside ``values_hidden()``
    only its length."""
    return _described(source) if hidden() else repr(source[:limit])


def library_problem(error: BaseException) -> str:
    """What a library's exception says about an argument (it may quote it); inside ``values_hidden()`` only the
    exception's type."""
    if hidden():
        return f"the argument was refused ({type(error).__name__}; the value is not shown: the step read a secret)"
    return str(error)


def _described(value: Any) -> str:
    if isinstance(value, str):
        return f"a string of {len(value)} characters (not shown: the step read a secret)"
    return f"a {type_name(value)} (not shown: the step read a secret)"
