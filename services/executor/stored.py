"""Results kept in the blob store, as the executor's templates read them: through the reference, transparently.

The workflow passes ``{"$stored": ...}`` objects where results were too large for its history. When a step's
templates read such a result, the executor loads it before rendering, so ``ACTIONS.big.result.items[0]`` works as
if the value were inline. Nothing is loaded unless a step reads a stored result: a batch without one pays only a
look at each result's top level.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dsl.expressions import expressions_in
from schemas.actions import STORED_KEY
from services.shared.blobs import BlobStore, resolve


def _is_stored(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and STORED_KEY in value


def holds_stored(value: Any) -> bool:
    """Whether ``value`` is a stored result, or a list (a for_each action's item results) holding one."""
    return _is_stored(value) or (isinstance(value, list) and any(_is_stored(item) for item in value))


def refs_read(*values: Any) -> set[str]:
    """Every action ref the templates inside ``values`` read (parsing is memoised, so this is cheap)."""
    return {ref for value in values for expression in expressions_in(value) for ref in expression.refs}


def load_read_results(
    results: Mapping[str, Any], refs: set[str], store: BlobStore, cache: dict[str, Any]
) -> dict[str, Any]:
    """The stored results among ``refs``, loaded (``cache`` keeps them for the batch's other steps)."""
    loaded: dict[str, Any] = {}
    for ref in sorted(refs):
        value = results.get(ref)
        if value is None or not holds_stored(value):
            continue
        if ref not in cache:
            cache[ref] = resolve(value, store)
        loaded[ref] = cache[ref]
    return loaded


def stored_refs(results: Mapping[str, Any]) -> Iterator[str]:
    """Refs whose result is (or holds) a stored result."""
    return (ref for ref, value in results.items() if holds_stored(value))
