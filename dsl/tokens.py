"""The tokenizer of the expression language: one linear pass, every token knowing its 1-based column.

After a ``.`` a name may contain ``-`` and start with a digit (``ACTIONS.geo-ip.result.items.0``), as the first
version of the DSL allowed; write ``a.b - 1`` with a space to subtract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dsl.errors import TemplateSyntaxError

Kind = Literal["number", "string", "name", "op", "end"]

# The tokenizer's fixed patterns read expression text (at most 4096 characters), never alert data; each is a
# single run of a character class, linear by construction: they stay ``re`` (user patterns are ``dsl.patterns``).
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_OPERATORS = ("||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", "{", "}")
_PUNCTUATION = (",", ":", ".")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0", "\\": "\\", "'": "'", '"': '"', "/": "/"}


@dataclass(frozen=True)
class Token:
    """One token: its kind, its value (text, or the decoded literal) and the column where it starts."""

    kind: Kind
    value: str | int | float
    column: int


def syntax_error(text: str, column: int, problem: str) -> TemplateSyntaxError:
    """The error for ``problem`` at ``column`` of expression ``text``."""
    return TemplateSyntaxError(f"invalid expression '${{{{ {text} }}}}' at column {column}: {problem}", column)


def _string(text: str, start: int) -> tuple[str, int]:
    """The decoded string literal starting at ``text[start]`` (a quote) and the index after it."""
    quote, i = text[start], start + 1
    chars: list[str] = []
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(chars), i + 1
        if char == "\\":
            escape = text[i + 1 : i + 2]
            if escape == "u":
                digits = text[i + 2 : i + 6]
                if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                    raise syntax_error(text, i + 1, "\\u needs four hex digits")
                chars.append(chr(int(digits, 16)))
                i += 6
                continue
            if escape not in _ESCAPES:
                raise syntax_error(text, i + 1, f"unknown escape '\\{escape}' in string")
            chars.append(_ESCAPES[escape])
            i += 2
            continue
        chars.append(char)
        i += 1
    raise syntax_error(text, start + 1, "unterminated string")


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, ending with an ``end`` token; ``TemplateSyntaxError`` on a stray character."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        after_dot = bool(tokens) and tokens[-1].value == "." and tokens[-1].kind == "op"
        if char.isspace():
            i += 1
        elif after_dot and (segment := _SEGMENT.match(text, i)):
            tokens.append(Token("name", segment.group(), i + 1))
            i = segment.end()
        elif "0" <= char <= "9":  # not str.isdigit(): "²" and other Unicode digits are not numbers here
            number = _NUMBER.match(text, i)
            assert number is not None  # a digit always starts a number
            literal = number.group()
            if _NAME.match(text, number.end()):
                raise syntax_error(text, number.end() + 1, f"a name cannot follow the number {literal}")
            value: int | float = float(literal) if any(c in literal for c in ".eE") else int(literal)
            tokens.append(Token("number", value, i + 1))
            i = number.end()
        elif char in "'\"":
            decoded, end = _string(text, i)
            tokens.append(Token("string", decoded, i + 1))
            i = end
        elif name := _NAME.match(text, i):
            tokens.append(Token("name", name.group(), i + 1))
            i = name.end()
        else:
            operator = next((op for op in _OPERATORS + _PUNCTUATION if text.startswith(op, i)), None)
            if operator is None:
                raise syntax_error(text, i + 1, f"unexpected character {char!r}")
            tokens.append(Token("op", operator, i + 1))
            i += len(operator)
    tokens.append(Token("end", "", len(text) + 1))
    return tokens
