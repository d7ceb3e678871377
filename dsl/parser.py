"""A recursive-descent parser from tokens to ``dsl.nodes``; bounded in length and depth so input cannot blow the stack.

Precedence, lowest first: ``a if c else b``; ``||``; ``&&``; ``not``; comparisons (``== != < <= > >= in``,
``not in``, which do not chain); ``+ -``; ``* / %``; unary ``-``; postfix ``.name``, ``[index]`` and calls.
"""

from __future__ import annotations

import math

from dsl import nodes
from dsl.functions import FUNCTIONS
from dsl.functions.regex import PATTERN_FUNCTIONS
from dsl.patterns import PatternError, compile_pattern
from dsl.tokens import Token, syntax_error, tokenize

MAX_LENGTH = 4096
MAX_DEPTH = 64
_KEYWORDS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_RESERVED = {"if", "else", "not", "in"}
_ROOTS = ("TRIGGER", "ACTIONS", "SECRETS", "ENV", "VARS", "var", "FN")
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


def parse(text: str) -> nodes.Node:
    """The tree of expression ``text`` (already stripped); ``TemplateSyntaxError`` naming text and column."""
    if len(text) > MAX_LENGTH:
        raise syntax_error(text[:40] + "...", 1, f"longer than {MAX_LENGTH} characters ({len(text)})")
    if not text:
        raise syntax_error(text, 1, "empty expression")
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.position = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.position + offset, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.position += 1
        return token

    def at(self, value: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind in ("op", "name") and token.value == value

    def expect(self, value: str) -> Token:
        if not self.at(value):
            raise self.error(self.peek(), f"expected '{value}'")
        return self.next()

    def error(self, token: Token, problem: str) -> Exception:
        found = "the end" if token.kind == "end" else repr(token.value)
        return syntax_error(self.text, token.column, f"{problem}, found {found}")

    def enter(self, token: Token) -> None:
        """Count one level of nesting; refuse past ``MAX_DEPTH`` before recursion could get deep."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise syntax_error(self.text, token.column, f"nested deeper than {MAX_DEPTH} levels")

    def leave(self) -> None:
        self.depth -= 1

    # -- grammar -------------------------------------------------------------------------------------------------
    def parse(self) -> nodes.Node:
        tree = self.conditional()
        if self.peek().kind != "end":
            raise self.error(self.peek(), "expected an operator or the end of the expression")
        height = _height(tree)
        if height > MAX_DEPTH:
            raise syntax_error(self.text, 1, f"nested deeper than {MAX_DEPTH} levels ({height})")
        return tree

    def conditional(self) -> nodes.Node:
        start = self.peek()
        self.enter(start)
        then = self.or_()
        if self.at("if"):
            self.next()
            condition = self.or_()
            self.expect("else")
            then = nodes.Conditional(then, condition, self.conditional(), start.column)
        self.leave()
        return then

    def or_(self) -> nodes.Node:
        left = self.and_()
        while self.at("||"):
            operator = self.next()
            left = nodes.Binary("||", left, self.and_(), operator.column)
        return left

    def and_(self) -> nodes.Node:
        left = self.not_()
        while self.at("&&"):
            operator = self.next()
            left = nodes.Binary("&&", left, self.not_(), operator.column)
        return left

    def not_(self) -> nodes.Node:
        if self.at("not"):
            operator = self.next()
            self.enter(operator)
            operand = self.not_()
            self.leave()
            return nodes.Unary("not", operand, operator.column)
        return self.comparison()

    def comparison(self) -> nodes.Node:
        left = self.additive()
        operator = self.comparison_operator()
        if operator is None:
            return left
        op, column = operator
        node = nodes.Binary(op, left, self.additive(), column)
        if self.comparison_operator() is not None:
            raise syntax_error(self.text, self.peek(-1).column, "comparisons do not chain; join them with &&")
        return node

    def comparison_operator(self) -> tuple[str, int] | None:
        token = self.peek()
        if token.kind == "op" and token.value in _COMPARISONS:
            self.next()
            return str(token.value), token.column
        if self.at("in"):
            self.next()
            return "in", token.column
        if self.at("not") and self.at("in", 1):
            self.position += 2
            return "not in", token.column
        return None

    def additive(self) -> nodes.Node:
        left = self.multiplicative()
        while self.at("+") or self.at("-"):
            operator = self.next()
            left = nodes.Binary(str(operator.value), left, self.multiplicative(), operator.column)
        return left

    def multiplicative(self) -> nodes.Node:
        left = self.unary()
        while self.at("*") or self.at("/") or self.at("%"):
            operator = self.next()
            left = nodes.Binary(str(operator.value), left, self.unary(), operator.column)
        return left

    def unary(self) -> nodes.Node:
        if self.at("-"):
            operator = self.next()
            self.enter(operator)
            operand = self.unary()
            self.leave()
            return nodes.Unary("-", operand, operator.column)
        return self.postfix(self.primary())

    def postfix(self, node: nodes.Node) -> nodes.Node:
        while True:
            if self.at("."):
                self.next()
                name = self.next()
                if name.kind != "name":
                    raise self.error(name, "expected a name after '.'")
                node = nodes.Attribute(node, str(name.value), name.column)
            elif self.at("["):
                bracket = self.next()
                index = self.conditional()
                self.expect("]")
                node = nodes.Index(node, index, bracket.column)
            elif self.at("("):
                raise self.error(self.peek(), "only FN.<name>(...) can be called")
            else:
                return node

    def primary(self) -> nodes.Node:
        token = self.next()
        if token.kind in ("number", "string"):
            if isinstance(token.value, float) and not math.isfinite(token.value):
                raise syntax_error(self.text, token.column, "number out of range")
            return nodes.Literal_(token.value, token.column)
        if token.kind == "op" and token.value == "(":
            inner = self.conditional()
            self.expect(")")
            return inner
        if token.kind == "op" and token.value == "[":
            return nodes.ListDisplay(tuple(self.sequence("]")), token.column)
        if token.kind == "op" and token.value == "{":
            return self.dict_display(token)
        if token.kind == "name":
            return self.name(token)
        raise self.error(token, "expected a value")

    def sequence(self, closer: str) -> list[nodes.Node]:
        """Comma-separated expressions up to ``closer`` (a trailing comma is allowed); each item's
        ``conditional`` counts the nesting."""
        items: list[nodes.Node] = []
        while not self.at(closer):
            items.append(self.conditional())
            if not self.at(closer):
                self.expect(",")
        self.next()
        return items

    def dict_display(self, opener: Token) -> nodes.Node:
        entries: list[tuple[nodes.Node, nodes.Node]] = []
        while not self.at("}"):
            key = self.conditional()
            self.expect(":")
            entries.append((key, self.conditional()))
            if not self.at("}"):
                self.expect(",")
        self.next()
        return nodes.DictDisplay(tuple(entries), opener.column)

    def name(self, token: Token) -> nodes.Node:
        name = str(token.value)
        if name in _KEYWORDS:
            return nodes.Literal_(_KEYWORDS[name], token.column)
        if name in ("TRIGGER", "ENV", "VARS", "var"):
            return nodes.Root(name, token.column)  # type: ignore[arg-type]  # the tuple above is MappingRoot
        if name == "ACTIONS":
            ref = self.dotted_name("an action ref after ACTIONS")
            part = self.dotted_name("ACTIONS.<ref>.result or ACTIONS.<ref>.error")
            if part.value not in ("result", "error"):
                raise self.error(part, "expected ACTIONS.<ref>.result or ACTIONS.<ref>.error")
            return nodes.ActionRef(str(ref.value), "result" if part.value == "result" else "error", token.column)
        if name == "SECRETS":
            secret = self.dotted_name("a secret name after SECRETS")
            key = self.dotted_name("a key after SECRETS.<name>")
            return nodes.Secret(str(secret.value), str(key.value), token.column)
        if name == "FN":
            return self.call(token)
        if name in _RESERVED:
            raise syntax_error(self.text, token.column, f"'{name}' cannot start a value here")
        raise syntax_error(self.text, token.column, f"unknown root '{name}' (one of {', '.join(_ROOTS)}, or a literal)")

    def dotted_name(self, what: str) -> Token:
        if not self.at("."):
            raise self.error(self.peek(), f"expected {what}")
        self.next()
        token = self.next()
        if token.kind != "name":
            raise self.error(token, f"expected {what}")
        return token

    def call(self, fn: Token) -> nodes.Node:
        name = self.dotted_name("a function name after FN")
        function = FUNCTIONS.get(str(name.value))
        if function is None:
            raise syntax_error(self.text, name.column, f"unknown function FN.{name.value}")
        self.expect("(")
        args = tuple(self.sequence(")"))
        problem = function.arity_problem(len(args))
        if problem:
            raise syntax_error(self.text, name.column, problem)
        if function.name in PATTERN_FUNCTIONS:
            self.check_pattern(function.name, args[0])
        return nodes.Call(function.name, args, fn.column)

    def check_pattern(self, name: str, pattern: nodes.Node) -> None:
        """A literal pattern RE2 cannot run is a syntax error at the pattern, so validation refuses it before any
        run (a pattern computed from data can only be checked when evaluated)."""
        if isinstance(pattern, nodes.Literal_) and isinstance(pattern.value, str):
            try:
                compile_pattern(pattern.value)
            except PatternError as error:
                raise syntax_error(self.text, pattern.column, f"FN.{name}: invalid pattern: {error}") from None


def _height(tree: nodes.Node) -> int:
    """The depth of the tree, iteratively (long operator chains build deep trees without nesting tokens)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # past the limit the answer is known; stop early so the walk stays small
            stack.extend((child, depth + 1) for child in nodes.children(node))
    return deepest
