"""Regular-expression functions (RE2 syntax, see ``dsl.patterns``).

Their text is usually alert data, so they match with RE2, in time linear in the text whatever the pattern (Python's
``re`` backtracks, and a pattern such as ``.*a.*b.*`` took minutes on a crafted 1 MiB value, with no way to
interrupt it inside a workflow). Patterns are at most 1000 characters, texts at most 1 MiB. A literal pattern is
checked when the expression is parsed (``dsl.parser``), so ``alertmesh validate`` refuses one RE2 cannot run.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from dsl.functions.args import fail, text
from dsl.functions.limits import MAX_ITEMS, MAX_TEXT
from dsl.functions.previews import library_problem
from dsl.functions.registry import function
from dsl.patterns import Pattern, PatternError, compile_pattern

#: The functions whose first argument is a pattern (the parser checks a literal one).
PATTERN_FUNCTIONS = frozenset({"regex_match", "regex_search", "regex_extract", "regex_findall", "regex_replace"})


def _compile(name: str, pattern: Any) -> Pattern:
    source = text(name, pattern, "pattern")
    try:
        return compile_pattern(source)
    except PatternError as error:
        # RE2's message quotes the pattern: hidden, as every preview is, when the step read a secret.
        raise fail(name, f"invalid pattern: {library_problem(error)}") from None


def _found(match: Any) -> Any:
    """What a match yields: the whole match without groups, group 1 with one, the list of groups with more."""
    groups = match.groups()
    if not groups:
        return match.group(0)
    return groups[0] if len(groups) == 1 else list(groups)


# A replacement template, read as Python's re reads one: \g<name>, \g<n>, \1 to \99, \0 and octal escapes, and the
# standard escapes. (RE2's Python wrapper decodes the literal parts as unicode_escape, which turns "é" into "Ã©".)
# A fixed pattern on the template, never on alert data, and linear by construction: stays ``re``.
_TEMPLATE_ESCAPE = re.compile(r"\\(?:g<([^>]*)>|(0[0-7]{0,2}|[1-9][0-9]?)|(.))", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a", "b": "\b", "\\": "\\"}


#: A piece of a parsed template: literal text, or a group reference (its name or number, in a 1-tuple).
_Piece = str | tuple[int | str]


@functools.lru_cache(maxsize=256)
def _template(template: str) -> tuple[_Piece, ...]:
    """The template as literal text and group references, in order; ValueError for an escape Python's re would
    refuse."""
    pieces: list[_Piece] = []
    position = 0
    for escape in _TEMPLATE_ESCAPE.finditer(template):
        pieces.append(template[position : escape.start()])
        position = escape.end()
        name, number, other = escape.groups()
        if name is not None:
            if not name or not (name.isdigit() or name.isidentifier()):
                raise ValueError(f"bad group name in the replacement: \\g<{name}>")
            pieces.append((int(name) if name.isdigit() else name,))
        elif number is not None:
            pieces.append(chr(int(number, 8)) if number.startswith("0") else (int(number),))
        elif other in _ESCAPES:
            pieces.append(_ESCAPES[other])
        elif other.isascii() and other.isalnum():
            raise ValueError(f"bad escape in the replacement: \\{other}")
        else:
            pieces.append("\\" + other)
    if template.endswith("\\") and position < len(template):
        raise ValueError("the replacement ends with a lone backslash")
    pieces.append(template[position:])
    return tuple(pieces)


def _expand(match: Any, pieces: tuple[_Piece, ...]) -> str:
    """The replacement for one match: each group reference is the group's text ("" when it did not take part)."""
    return "".join(piece if isinstance(piece, str) else (match.group(piece[0]) or "") for piece in pieces)


@function("regex_match")
def regex_match(pattern: Any, value: Any) -> bool:
    """Whether ``pattern`` matches at the start of ``value`` (like Python's ``re.match``; see regex_search)."""
    return _compile("regex_match", pattern).match(text("regex_match", value, "text")) is not None


@function("regex_search")
def regex_search(pattern: Any, value: Any) -> bool:
    """Whether ``pattern`` matches anywhere in ``value``."""
    return _compile("regex_search", pattern).search(text("regex_search", value, "text")) is not None


@function("regex_extract")
def regex_extract(pattern: Any, value: Any) -> Any:
    """The first match of ``pattern`` in ``value`` (its group if it has one, its groups if several), or null."""
    match = _compile("regex_extract", pattern).search(text("regex_extract", value, "text"))
    return None if match is None else _found(match)


@function("regex_findall")
def regex_findall(pattern: Any, value: Any) -> list[Any]:
    """Every match of ``pattern`` in ``value``, as regex_extract gives them (at most 10000)."""
    found: list[Any] = []
    for match in _compile("regex_findall", pattern).finditer(text("regex_findall", value, "text")):
        if len(found) == MAX_ITEMS:
            raise fail("regex_findall", f"more than {MAX_ITEMS} matches")
        found.append(_found(match))
    return found


@function("regex_replace")
def regex_replace(pattern: Any, value: Any, replacement: Any) -> str:
    """``value`` with every match of ``pattern`` replaced by ``replacement`` (``\\1`` and ``\\g<name>`` insert
    groups)."""
    compiled = _compile("regex_replace", pattern)
    source, template = text("regex_replace", value, "text"), text("regex_replace", replacement, "replacement")
    pieces = _template(template)
    for piece in pieces:
        # Checked before any match, as Python's re does: a wrong reference is an error even on text with no match.
        if not isinstance(piece, str) and not compiled.has_group(piece[0]):
            raise fail("regex_replace", f"the replacement refers to group {piece[0]!r}, which the pattern lacks")
    parts: list[str] = []
    size, position = 0, 0
    for match in compiled.finditer(source):
        piece = source[position : match.start()] + _expand(match, pieces)
        size += len(piece)
        if size > MAX_TEXT:  # checked as we go: an empty pattern would otherwise build len(text) copies
            raise fail("regex_replace", f"the result would be longer than {MAX_TEXT} characters")
        parts.append(piece)
        position = match.end()
    parts.append(source[position:])
    return "".join(parts)
