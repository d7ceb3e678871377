"""Dependency-graph helpers for a workflow's actions: cycle detection and upstream sets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in ``node -> dependencies`` as ``[a, b, ..., a]``, or None; visits nodes in the given order."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for dependency in edges.get(node, ()):
            cycle = visit(dependency)
            if cycle is not None:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in edges:
        cycle = visit(node)
        if cycle is not None:
            return cycle
    return None


def upstream(node: str, edges: Mapping[str, Sequence[str]]) -> set[str]:
    """Every node ``node`` depends on, directly or transitively (the graph must be acyclic)."""
    seen: set[str] = set()
    stack = list(edges.get(node, ()))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(edges.get(current, ()))
    return seen
