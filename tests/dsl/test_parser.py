"""The expression parser: precedence, literals, roots, errors with columns, and the length and depth limits."""

from __future__ import annotations

import pytest

from dsl import nodes
from dsl.errors import TemplateSyntaxError
from dsl.expressions import expressions_in, parse_expression, template_spans
from dsl.parser import MAX_DEPTH, MAX_LENGTH


def show(node: nodes.Node) -> str:
    """The tree written back fully parenthesised, so precedence is visible."""
    if isinstance(node, nodes.Literal_):
        return repr(node.value)
    if isinstance(node, nodes.Root):
        return node.name
    if isinstance(node, nodes.ActionRef):
        return f"ACTIONS.{node.ref}.{node.part}"
    if isinstance(node, nodes.Secret):
        return f"SECRETS.{node.name}.{node.key}"
    if isinstance(node, nodes.Attribute):
        return f"{show(node.value)}.{node.name}"
    if isinstance(node, nodes.Index):
        return f"{show(node.value)}[{show(node.index)}]"
    if isinstance(node, nodes.Call):
        return f"FN.{node.name}({', '.join(show(arg) for arg in node.args)})"
    if isinstance(node, nodes.Unary):
        return f"({node.op} {show(node.operand)})"
    if isinstance(node, nodes.Binary):
        return f"({show(node.left)} {node.op} {show(node.right)})"
    if isinstance(node, nodes.Conditional):
        return f"({show(node.then)} if {show(node.condition)} else {show(node.otherwise)})"
    if isinstance(node, nodes.ListDisplay):
        return f"[{', '.join(show(item) for item in node.items)}]"
    return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in node.entries) + "}"


def tree(text: str) -> str:
    return show(parse_expression(text).tree)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("(1 + 2) * 3", "((1 + 2) * 3)"),
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("8 / 4 % 3", "((8 / 4) % 3)"),
        ("-2 * 3", "((- 2) * 3)"),
        ("- -2", "(- (- 2))"),
        ("1 + 2 < 4", "((1 + 2) < 4)"),
        ("1 < 2 == true", None),
        ("not 1 == 2", "(not (1 == 2))"),
        ("not a.b", None),
        ("not var.x && var.y", "((not var.x) && var.y)"),
        ("var.a || var.b && var.c", "(var.a || (var.b && var.c))"),
        ("var.a && var.b || var.c", "((var.a && var.b) || var.c)"),
        ("1 if var.a || var.b else 2", "(1 if (var.a || var.b) else 2)"),
        ("1 if var.a else 2 if var.b else 3", "(1 if var.a else (2 if var.b else 3))"),
        ("'x' in var.l", "('x' in var.l)"),
        ("'x' not in var.l", "('x' not in var.l)"),
        ("not 'x' in var.l", "(not ('x' in var.l))"),
        ("1 + 1 in [2]", "((1 + 1) in [2])"),
        ("-var.a[0].b", "(- var.a[0].b)"),
        ("TRIGGER.a.b[0]['c']", "TRIGGER.a.b[0]['c']"),
        ("TRIGGER.items.0.id", "TRIGGER.items.0.id"),
        ("TRIGGER.x-forwarded-for", "TRIGGER.x-forwarded-for"),
        ("TRIGGER.x - 1", "(TRIGGER.x - 1)"),
        ("ACTIONS.geo-ip.result.country", "ACTIONS.geo-ip.result.country"),
        ("ACTIONS.a.error.message", "ACTIONS.a.error.message"),
        ("SECRETS.vt.API_KEY", "SECRETS.vt.API_KEY"),
        ("ENV.run_id", "ENV.run_id"),
        ("VARS.teams['sec']", "VARS.teams['sec']"),
        ("FN.upper(FN.lower('A'))", "FN.upper(FN.lower('A'))"),
        ("FN.len([1, 2,])[0]", "FN.len([1, 2])[0]"),
        ("FN.get({'a': 1}, 'a') + 1", "(FN.get({'a': 1}, 'a') + 1)"),
        ("{}", "{}"),
        ("[]", "[]"),
    ],
)
def test_precedence(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateSyntaxError):
            parse_expression(text)
    else:
        assert tree(text) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("'single'", "single"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\nb\tc\\d\/e'", "a\nb\tc\\d/e"),
        (r"'\u00e9'", "é"),
        ("''", ""),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", True),
        ("False", False),
        ("None", None),
    ],
)
def test_literals(text: str, value: object) -> None:
    node = parse_expression(text).tree
    assert isinstance(node, nodes.Literal_)
    assert node.value == value
    assert type(node.value) is type(value)


@pytest.mark.parametrize(
    ("text", "column", "problem"),
    [
        ("1 +", 4, "expected a value, found the end"),
        ("TRIGGER.a b", 11, "expected an operator or the end of the expression, found 'b'"),
        ("1 ? 2", 3, "unexpected character '\\?'"),
        ("'abc", 1, "unterminated string"),
        (r"'a\qb'", 3, r"unknown escape '\\q'"),
        (r"'\u12'", 2, r"\\u needs four hex digits"),
        ("12abc", 3, "a name cannot follow the number 12"),
        ("INPUTS.x", 1, "unknown root 'INPUTS'"),
        ("ACTIONS.a", 10, "expected ACTIONS.<ref>.result or ACTIONS.<ref>.error"),
        ("ACTIONS.a.output", 11, "expected ACTIONS.<ref>.result or ACTIONS.<ref>.error, found 'output'"),
        ("SECRETS.vt", 11, "expected a key after SECRETS.<name>"),
        ("FN.nope(1)", 4, "unknown function FN.nope"),
        ("FN.upper", 9, "expected '\\('"),
        ("FN.upper(1, 2)", 4, "FN.upper takes 1 argument, not 2"),
        ("FN.replace('a')", 4, "FN.replace takes 3 arguments, not 1"),
        ("FN.split()", 4, "FN.split takes 1 to 3 arguments, not 0"),
        ("FN.merge()", 4, "FN.merge takes at least 1 argument"),
        ("TRIGGER(1)", 8, "only FN.<name>\\(...\\) can be called"),
        ("1 < 2 < 3", 7, "comparisons do not chain"),
        ("1 if 2", 7, "expected 'else'"),
        ("[1, 2", 6, "expected ','"),
        ("{'a' 1}", 6, "expected ':'"),
        ("else", 1, "'else' cannot start a value here"),
        ("1e999", 1, "number out of range"),
        ("TRIGGER.", 9, "expected a name after '.'"),
    ],
)
def test_errors_name_expression_and_column(text: str, column: int, problem: str) -> None:
    with pytest.raises(
        TemplateSyntaxError, match=rf"invalid expression '\$\{{\{{ .* \}}\}}' at column {column}: {problem}"
    ):
        parse_expression(text)


def test_empty_expression() -> None:
    with pytest.raises(TemplateSyntaxError, match="empty expression"):
        parse_expression("   ")


def test_length_limit() -> None:
    parse_expression("'" + "a" * (MAX_LENGTH - 2) + "'")
    with pytest.raises(TemplateSyntaxError, match=f"longer than {MAX_LENGTH} characters"):
        parse_expression("'" + "a" * (MAX_LENGTH - 1) + "'")


@pytest.mark.parametrize(
    ("make", "depth"),
    [
        (lambda n: "(" * n + "1" + ")" * n, None),
        (lambda n: "[" * n + "]" * n, None),
        (lambda n: "-" * n + "1", None),
        (lambda n: "not " * n + "1", None),
        (lambda n: "FN.len(" * n + "[]" + ")" * n, None),
        (lambda n: " + ".join(["1"] * n), None),
        (lambda n: "TRIGGER" + ".a" * n, None),
    ],
)
def test_depth_limit(make: object, depth: None) -> None:
    assert callable(make)
    parse_expression(make(MAX_DEPTH // 2))
    with pytest.raises(TemplateSyntaxError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_expression(make(MAX_DEPTH + 5))


def test_hostile_nesting_is_refused_not_a_crash() -> None:
    """Far past the limit (but within the length limit) the parser stops early: no RecursionError."""
    with pytest.raises(TemplateSyntaxError, match="nested deeper"):
        parse_expression("(" * 2000 + "1" + ")" * 2000)
    with pytest.raises(TemplateSyntaxError, match="nested deeper"):
        parse_expression("-" * 4000 + "1")


def test_refs_roots_secrets_and_functions() -> None:
    expression = parse_expression(
        "FN.concat(ACTIONS.a.result.x, ACTIONS.b.error.message, SECRETS.vt.KEY, TRIGGER.t, ENV.run_id, var.item)"
    )
    assert expression.refs == frozenset({"a", "b"})
    assert expression.roots == frozenset({"ACTIONS", "SECRETS", "TRIGGER", "ENV", "var"})
    assert expression.secrets == frozenset({("vt", "KEY")})
    assert expression.functions == frozenset({"concat"})
    assert parse_expression("1 + 2").refs == frozenset()


def test_expressions_in_document_order_and_text() -> None:
    found = expressions_in({"a": "${{ ACTIONS.x.result }} ${{ 1 + 2 }}", "b": [{"c": "${{ TRIGGER.z }}"}], "d": 3})
    assert [e.text for e in found] == ["ACTIONS.x.result", "1 + 2", "TRIGGER.z"]
    assert [e.refs for e in found] == [frozenset({"x"}), frozenset(), frozenset()]


@pytest.mark.parametrize(
    ("value", "bodies"),
    [
        ("${{ a }} and ${{ b }}", [" a ", " b "]),
        ('${{ {"a": {"b": 1}} }}', [' {"a": {"b": 1}} ']),
        ("${{ '}}' }}", [" '}}' "]),
        (r"${{ 'it\'s }}' }} x", [r" 'it\'s }}' "]),
        ("no templates {{ here }}", []),
    ],
)
def test_template_spans_respect_strings_and_braces(value: str, bodies: list[str]) -> None:
    assert [body for _, _, body in template_spans(value)] == bodies


def test_unterminated_template() -> None:
    with pytest.raises(TemplateSyntaxError, match="unterminated template"):
        template_spans("x ${{ TRIGGER.a ")
