"""Reads a user's YAML (or JSON) file keeping where each part of it is, so a problem can name its line and column.

``parse_yaml`` gives the document (plain JSON-like data), a map from each document path (``("actions", 0,
"args", "url")``) to the 1-based (line, column) where its value starts, the same for the keys of mapping entries,
and the problems YAML itself hides: a key given twice in one mapping (PyYAML silently keeps the last).

Dates stay strings (``wait_until: 2026-01-01T09:00:00Z`` is text the workflow parses, and action args must be
JSON), and an alias cycle or an alias bomb is refused instead of being expanded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from dsl.problems import Path, Problem

#: Nodes walked in one document, aliases counted each time they are used: far above any real workflow, far below
#: what an alias bomb ("billion laughs") expands to.
MAX_NODES = 200_000
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

Position = tuple[int, int]


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without implicit timestamps: a date in a workflow (or any user's file) is a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class YamlSyntaxError(ValueError):
    """The text is not one YAML document; ``line`` and ``column`` (1-based) say where YAML gave up."""

    def __init__(self, message: str, line: int, column: int, kind: str = "YAMLError") -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        #: The YAML error's class name (``ScannerError``): what may be said of a file whose text must not be quoted.
        self.kind = kind


@dataclass
class ParsedYaml:
    """A document with the positions of its values and keys, and its duplicate-key problems."""

    document: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: Single-line scalars written as is (plain or quoted): their text, to point inside them.
    scalars: dict[Path, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def position(self, problem: Problem) -> Position:
        """Where ``problem`` is: its key or value, else the nearest parent the document has, else 1:1."""
        if problem.at_key and problem.path in self.keys:
            return self.keys[problem.path]
        if problem.offset is not None and problem.path in self.scalars:
            return self._inside(problem.path, problem.offset)
        path = problem.path
        while path and path not in self.values:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def _inside(self, path: Path, offset: int) -> Position:
        """The character ``offset`` into the scalar at ``path``, when the file spells its value out verbatim
        (no escapes, no folding); else where the scalar starts."""
        line, column = self.values[path]
        value = self.scalars[path]
        source = self.lines[line - 1] if line <= len(self.lines) else ""
        for quote in (0, 1):
            if source[column - 1 + quote : column - 1 + quote + len(value)] == value:
                return line, column + quote + offset
        return line, column


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document; ``YamlSyntaxError`` with its line and column if it is not valid YAML."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return ParsedYaml(None)
        parsed = ParsedYaml(None, lines=text.splitlines())
        _Walk(parsed).duplicates(node, ())  # before construction, which flattens merge keys into the mappings
        parsed.document = loader.construct_document(node)
        _Walk(parsed).positions(node, ())
        return parsed
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise YamlSyntaxError(f"invalid YAML: {problem or error}", line, column, type(error).__name__) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"invalid YAML: {error}", 1, 1, type(error).__name__) from None
    except RecursionError:
        raise YamlSyntaxError("invalid YAML: nested too deeply", 1, 1, "RecursionError") from None
    finally:
        loader.dispose()


def _where(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Walk:
    """One walk over the node graph, bounded by MAX_NODES and refusing alias cycles."""

    def __init__(self, parsed: ParsedYaml) -> None:
        self.parsed = parsed
        self.budget = MAX_NODES
        self.open: set[int] = set()
        self.keys = SafeConstructor()

    def _enter(self, node: yaml.Node) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise yaml.MarkedYAMLError(problem=f"more than {MAX_NODES} nodes (alias expansion?)", problem_mark=None)
        if id(node) in self.open:
            raise yaml.MarkedYAMLError(problem="an alias refers to a node that contains it", problem_mark=None)

    def _key(self, node: yaml.Node) -> object:
        if not isinstance(node, yaml.ScalarNode) or node.tag == _MERGE:
            return None
        key = self.keys.construct_object(node, deep=True)
        return key if isinstance(key, str | int | float | bool) or key is None else str(key)

    def duplicates(self, node: yaml.Node, path: Path) -> None:
        """Record every key given twice in one mapping (the merge key ``<<`` aside), at its last occurrence."""
        self._enter(node)
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, yaml.Node] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                if isinstance(key, str | int):
                    if key in seen:
                        line = seen[key].start_mark.line + 1
                        message = f"duplicate key '{key}' (also on line {line}; YAML would keep only the last)"
                        self.parsed.problems.append(Problem((*path, key), message, at_key=True))
                    seen[key] = key_node
                    self.duplicates(value_node, (*path, key))
                else:
                    self.duplicates(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.duplicates(item, (*path, index))
        self.open.discard(id(node))

    def positions(self, node: yaml.Node, path: Path) -> None:
        """Record where the value at ``path`` and the keys below it start (later duplicate keys win, as in data)."""
        self._enter(node)
        self.open.add(id(node))
        self.parsed.values[path] = _where(node)
        verbatim = isinstance(node, yaml.ScalarNode) and node.style in (None, "'", '"')
        if verbatim and node.start_mark.line == node.end_mark.line:
            self.parsed.scalars[path] = node.value
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = self._key(key_node)
                if isinstance(key, str | int):
                    self.parsed.keys[(*path, key)] = _where(key_node)
                    self.positions(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.positions(item, (*path, index))
        self.open.discard(id(node))
