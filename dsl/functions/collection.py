"""Collection functions: objects and lists."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from dsl.functions.args import boolean, fail, integer, items, mapping, number, text
from dsl.functions.limits import MAX_ITEMS, check_size
from dsl.functions.registry import function
from dsl.values import equal, is_number, type_name


def _canonical(value: Any) -> str:
    """A key equal values share (booleans and numbers stay apart: ``true`` is not ``1``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- collections ---------------------------------------------------------------------------------------------------
@function("keys")
def keys(value: Any) -> list[str]:
    """The keys of an object, in order."""
    return list(mapping("keys", value))


@function("values")
def values(value: Any) -> list[Any]:
    """The values of an object, in order."""
    return list(mapping("values", value).values())


@function("get")
def get(container: Any, key: Any, default: Any = None) -> Any:
    """``container[key]`` (an object key or a list index), or ``default`` when it is missing."""
    if isinstance(container, Mapping):
        return container.get(text("get", key, "key"), default)
    if isinstance(container, list):
        index = integer("get", key, "index")
        return container[index] if -len(container) <= index < len(container) else default
    if container is None:
        return default
    raise fail("get", f"container must be an object or a list, not a {type_name(container)}")


@function("lookup")
def lookup(container: Any, path: Any, default: Any = None) -> Any:
    """The value at dotted ``path`` ("a.b.0") inside ``container``, or ``default`` when any step is missing."""
    current = container
    for step in text("lookup", path, "path").split("."):
        if isinstance(current, Mapping) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.lstrip("-").isdigit() and -len(current) <= int(step) < len(current):
            current = current[int(step)]
        else:
            return default
    return current


@function("merge")
def merge(first: Any, *others: Any) -> dict[str, Any]:
    """One object with the keys of every argument; later arguments win."""
    merged: dict[str, Any] = {}
    for position, value in enumerate((first, *others), 1):
        merged.update(mapping("merge", value, f"argument {position}"))
    return merged


@function("flatten")
def flatten(value: Any) -> list[Any]:
    """A list of lists made one list (one level; other items are kept as they are)."""
    flat: list[Any] = []
    for item in items("flatten", value):
        flat.extend(item if isinstance(item, list) else [item])
    return check_size("FN.flatten", flat)


@function("unique")
def unique(value: Any) -> list[Any]:
    """The items of a list without repeats, in first-seen order."""
    seen: set[str] = set()
    kept: list[Any] = []
    for item in items("unique", value):
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


@function("sort")
def sort(value: Any, descending: Any = False) -> list[Any]:
    """A list of numbers or of strings sorted (descending if the second argument is true)."""
    values_ = items("sort", value)
    if not (all(is_number(v) for v in values_) or all(isinstance(v, str) for v in values_)):
        raise fail("sort", "the list must hold only numbers or only strings")
    return sorted(values_, reverse=boolean("sort", descending, "descending"))


@function("reverse")
def reverse(value: Any) -> Any:
    """A list or a string in reverse order."""
    if not isinstance(value, list | str):
        raise fail("reverse", f"value must be a list or a string, not a {type_name(value)}")
    return value[::-1]


@function("first")
def first(value: Any) -> Any:
    """The first item of a list, or null if it is empty."""
    values_ = items("first", value)
    return values_[0] if values_ else None


@function("last")
def last(value: Any) -> Any:
    """The last item of a list, or null if it is empty."""
    values_ = items("last", value)
    return values_[-1] if values_ else None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | Mapping) and len(value) == 0)


@function("filter_empty")
def filter_empty(value: Any) -> Any:
    """A list or object without its null, "", [] and {} items (false and 0 are kept)."""
    if isinstance(value, list):
        return [item for item in value if not _empty(item)]
    if isinstance(value, Mapping):
        return {key: item for key, item in value.items() if not _empty(item)}
    raise fail("filter_empty", f"value must be a list or an object, not a {type_name(value)}")


@function("zip")
def zip_(first: Any, *others: Any) -> list[list[Any]]:
    """Lists paired up item by item: ``zip([1, 2], ["a", "b"])`` is ``[[1, "a"], [2, "b"]]`` (shortest wins)."""
    checked = [items("zip", value, f"argument {position}") for position, value in enumerate((first, *others), 1)]
    return [list(row) for row in zip(*checked, strict=False)]


@function("range")
def range_(start: Any, stop: Any = None, step: Any = 1) -> list[int]:
    """Integers from ``start`` up to (not including) ``stop`` by ``step``; ``range(n)`` is 0..n-1; at most 10000."""
    if stop is None:
        begin, end = 0, integer("range", start, "stop")
    else:
        begin, end = integer("range", start, "start"), integer("range", stop, "stop")
    stride = integer("range", step, "step")
    if stride == 0:
        raise fail("range", "step must not be 0")
    numbers = range(begin, end, stride)
    if len(numbers) > MAX_ITEMS:
        raise fail("range", f"more than {MAX_ITEMS} items")
    return list(numbers)


def _numbers(name: str, value: Any) -> list[int | float]:
    return [number(name, item, "every item") for item in items(name, value)]


@function("sum")
def sum_(value: Any) -> int | float:
    """The sum of a list of numbers (0 for an empty list)."""
    numbers = _numbers("sum", value)
    return math.fsum(numbers) if any(isinstance(n, float) for n in numbers) else sum(numbers)


def _extreme(name: str, args: tuple[Any, ...]) -> Any:
    candidates = items(name, args[0]) if len(args) == 1 else list(args)
    if not candidates:
        raise fail(name, "needs at least one value")
    if not (all(is_number(v) for v in candidates) or all(isinstance(v, str) for v in candidates)):
        raise fail(name, "values must be all numbers or all strings")
    return min(candidates) if name == "min" else max(candidates)


@function("min")
def min_(first: Any, *others: Any) -> Any:
    """The smallest of a list (one argument) or of the arguments: numbers or strings."""
    return _extreme("min", (first, *others))


@function("max")
def max_(first: Any, *others: Any) -> Any:
    """The largest of a list (one argument) or of the arguments: numbers or strings."""
    return _extreme("max", (first, *others))


@function("count")
def count(container: Any, item: Any) -> int:
    """How many items of a list equal ``item``, or how many times a substring occurs in a string."""
    if isinstance(container, str):
        return container.count(text("count", item, "item"))
    return sum(1 for element in items("count", container, "container") if equal(element, item))


def _tag_pair(element: Any, separator: str) -> tuple[str, str] | None:
    """One tag as (key, value): ``"key:value"`` (a bare ``"key"`` has the value ""), ``[key, value]``, or
    ``{"key": ..., "value": ...}`` (also ``Key``/``Value``, as AWS writes them); None for anything else."""
    if isinstance(element, str):
        key, _, value = element.partition(separator)
        return (key.strip(), value.strip()) if key.strip() else None
    if isinstance(element, list) and len(element) == 2:
        key, value = element
    elif isinstance(element, Mapping):
        key = element.get("key", element.get("Key"))
        value = element.get("value", element.get("Value"))
    else:
        return None
    if not isinstance(key, str) or not key.strip():
        return None
    return key.strip(), _tag_text(value)


def _tag_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@function("parse_tags")
def parse_tags(value: Any, separator: Any = ":") -> dict[str, str]:
    """Tags as an object of text: a list of ``"key:value"`` strings (Datadog; a bare ``"key"`` gives ""), of
    ``[key, value]`` pairs (Sentry), of ``{"key": k, "value": v}`` objects, a comma-separated string
    (``"env:prod,team:db"``), or an object (values as text). ``separator`` splits key from value (at its first
    occurrence). A key given twice keeps every value, comma-joined in order; an element of no known form is
    skipped; null gives {}."""
    split = text("parse_tags", separator, "separator")
    if not split:
        raise fail("parse_tags", "separator must not be empty")
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(key): _tag_text(item) for key, item in value.items()}
    if isinstance(value, str):
        value = [part for part in text("parse_tags", value).split(",") if part.strip()]
    elements = items("parse_tags", value, "tags")
    if len(elements) > MAX_ITEMS:
        raise fail("parse_tags", f"more than {MAX_ITEMS} tags")
    tags: dict[str, str] = {}
    for element in elements:
        pair = _tag_pair(element, split)
        if pair is not None:
            key, found = pair
            tags[key] = f"{tags[key]},{found}" if key in tags else found
    return tags
