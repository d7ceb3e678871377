"""String functions: case, trimming, splitting and joining, tests, slicing, formatting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.functions.args import fail, integer, items, text
from dsl.functions.limits import MAX_ITEMS, MAX_TEXT, check_size
from dsl.functions.registry import function
from dsl.values import as_text, equal, type_name


@function("lower")
def lower(value: Any) -> str:
    """``value`` in lower case."""
    return text("lower", value).lower()


@function("upper")
def upper(value: Any) -> str:
    """``value`` in upper case."""
    return text("upper", value).upper()


@function("title")
def title(value: Any) -> str:
    """``value`` with each word capitalised."""
    return text("title", value).title()


@function("strip")
def strip(value: Any, chars: Any = None) -> str:
    """``value`` without leading and trailing whitespace (or without the characters in ``chars``)."""
    characters = None if chars is None else text("strip", chars, "chars")
    return text("strip", value).strip(characters)


@function("replace")
def replace(value: Any, old: Any, new: Any) -> str:
    """``value`` with every occurrence of ``old`` replaced by ``new`` (plain text, not a pattern)."""
    source, old_text, new_text = text("replace", value), text("replace", old, "old"), text("replace", new, "new")
    if not old_text:
        raise fail("replace", "old must not be empty")
    if len(source) + source.count(old_text) * (len(new_text) - len(old_text)) > MAX_TEXT:
        raise fail("replace", f"the result would be longer than {MAX_TEXT} characters")
    return source.replace(old_text, new_text)


@function("split")
def split(value: Any, separator: Any = None, limit: Any = None) -> list[str]:
    """``value`` split at ``separator`` (at runs of whitespace without one), at most ``limit`` times."""
    source = text("split", value)
    sep = None if separator is None else text("split", separator, "separator")
    if sep == "":
        raise fail("split", "separator must not be empty")
    times = -1 if limit is None else integer("split", limit, "limit")
    parts = source.split(sep, times if times >= 0 else MAX_ITEMS)
    return check_size("FN.split", parts)


@function("join")
def join(values: Any, separator: Any = "") -> str:
    """The items of ``values`` joined by ``separator``; non-strings are written as in interpolation."""
    return check_size("FN.join", text("join", separator, "separator").join(as_text(v) for v in items("join", values)))


@function("startswith")
def startswith(value: Any, prefix: Any) -> bool:
    """Whether ``value`` starts with ``prefix``."""
    return text("startswith", value).startswith(text("startswith", prefix, "prefix"))


@function("endswith")
def endswith(value: Any, suffix: Any) -> bool:
    """Whether ``value`` ends with ``suffix``."""
    return text("endswith", value).endswith(text("endswith", suffix, "suffix"))


@function("contains")
def contains(container: Any, item: Any) -> bool:
    """Whether a string contains a substring, a list an equal item, or an object a key (like ``item in container``)."""
    if isinstance(container, str):
        return text("contains", item, "item") in container
    if isinstance(container, list):
        return any(equal(item, element) for element in container)
    if isinstance(container, Mapping):
        return isinstance(item, str) and item in container
    raise fail("contains", f"container must be a string, list or object, not a {type_name(container)}")


@function("slice")
def slice_(value: Any, start: Any, end: Any = None) -> Any:
    """Characters of a string or items of a list from ``start`` up to (not including) ``end``; negatives count
    from the end."""
    if not isinstance(value, str | list):
        raise fail("slice", f"value must be a string or a list, not a {type_name(value)}")
    first = integer("slice", start, "start")
    last = None if end is None else integer("slice", end, "end")
    return value[first:last]


@function("length")
def length(value: Any) -> int:
    """The number of characters of a string, items of a list or keys of an object."""
    if not isinstance(value, str | list | Mapping):
        raise fail("length", f"value must be a string, list or object, not a {type_name(value)}")
    return len(value)


@function("len")
def len_(value: Any) -> int:
    """Same as ``length``."""
    if not isinstance(value, str | list | Mapping):
        raise fail("len", f"value must be a string, list or object, not a {type_name(value)}")
    return len(value)


@function("concat")
def concat(*values: Any) -> str:
    """Every argument as text (as in interpolation: null is empty, non-strings are JSON), joined together."""
    return check_size("FN.concat", "".join(as_text(value) for value in values))


@function("format")
def format_(template: Any, *values: Any) -> str:
    """``template`` with each ``{}`` replaced by the next argument as text; ``{{`` and ``}}`` are literal braces.

    Only ``{}`` is supported (no field names or format specs), so a template cannot reach into objects."""
    source, parts, used, i = text("format", template, "template"), [], 0, 0
    while i < len(source):
        pair = source[i : i + 2]
        if pair in ("{{", "}}"):
            parts.append(pair[0])
            i += 2
        elif pair == "{}":
            if used >= len(values):
                raise fail("format", f"the template has more '{{}}' than the {len(values)} values given")
            parts.append(as_text(values[used]))
            used, i = used + 1, i + 2
        elif source[i] in "{}":
            raise fail("format", f"a lone '{source[i]}' at position {i}; write '{source[i] * 2}' for a brace")
        else:
            parts.append(source[i])
            i += 1
    if used != len(values):
        raise fail("format", f"{len(values)} values given but the template has {used} '{{}}'")
    return check_size("FN.format", "".join(parts))


@function("repeat")
def repeat(value: Any, times: Any) -> str:
    """``value`` repeated ``times`` times (the result is capped at 1 MiB)."""
    source, count = text("repeat", value), integer("repeat", times, "times")
    if count < 0:
        raise fail("repeat", "times must not be negative")
    if len(source) * count > MAX_TEXT:
        raise fail("repeat", f"the result would be longer than {MAX_TEXT} characters")
    return source * count
