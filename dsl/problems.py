"""A problem found in a user's file (a workflow definition, a routing file, ...), and where it is (a path into the
YAML document)."""

from __future__ import annotations

from dataclasses import dataclass

#: A path into a document: mapping keys and list indexes, e.g. ``("actions", 2, "depends_on", 0)``.
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition (or any file ``dsl.files`` reads), and where.

    ``at_key`` points the problem at the key of the mapping entry ``path`` names rather than at its value (an
    unknown key); a path the document does not have points at its nearest existing parent (a missing key).
    """

    path: Path
    message: str
    at_key: bool = False
    #: Where in the string value the problem is (a template, or the character an expression fails at).
    offset: int | None = None


def shift_action_index(problem: Problem, indexes: list[int]) -> Problem:
    """``problem`` with its ``("actions", i, ...)`` index replaced by ``indexes[i]`` (the document's index)."""
    path = problem.path
    if len(path) >= 2 and path[0] == "actions" and isinstance(path[1], int) and path[1] < len(indexes):
        return Problem(("actions", indexes[path[1]], *path[2:]), problem.message, problem.at_key, problem.offset)
    return problem
