"""Size limits that keep a function or operator from building a huge value out of a small expression."""

from __future__ import annotations

from typing import Any, TypeVar

from dsl.errors import TemplateError

#: Longest string a function accepts or builds (1 MiB of characters).
MAX_TEXT = 1024 * 1024
#: Most items a function returns in one list (range, split, findall, extract_*...).
MAX_ITEMS = 10_000

Sized = TypeVar("Sized", str, list[Any])


def check_size(name: str, value: Sized) -> Sized:
    """``value`` if it is within the limits, else a TemplateError naming ``name``."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise TemplateError(f"{name}: the result would be longer than {MAX_TEXT} characters")
    if isinstance(value, list) and len(value) > MAX_ITEMS:
        raise TemplateError(f"{name}: the result would have more than {MAX_ITEMS} items")
    return value
