"""Fuzzing: any text either parses or is a TemplateSyntaxError, and evaluating any parsed expression against any
JSON context is a value or a TemplateError, never another exception (no crash reaches the workflow or executor)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dsl.errors import TemplateError, TemplateSyntaxError
from dsl.expressions import expressions_in, parse_expression
from dsl.functions import FUNCTIONS
from dsl.templates import TemplateContext, evaluate, render
from tests.shared.strategies import FUZZ

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from("abcxyz"), children, max_size=4),
    max_leaves=12,
)  # fmt: skip

# Pieces of the language, so generated text is often valid and reaches the evaluator with interesting shapes.
ATOMS = st.sampled_from(
    [
        "TRIGGER", "TRIGGER.a", "TRIGGER.a.b", "TRIGGER['x']", "TRIGGER.a[0]", "ACTIONS.r.result", "ACTIONS.r.error",
        "ACTIONS.r.result.a", "SECRETS.s.K", "ENV.run_id", "VARS.a", "var.x", "var", "1", "0", "-1", "2.5", "'a'",
        '"b"', "''", "true", "false", "null", "[]", "{}", "[1, 'a']", "{'a': 1}", "9223372036854775807", "1e300",
    ]
)  # fmt: skip
OPERATORS = st.sampled_from(
    ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "&&", "||"]
)  # fmt: skip


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3:
        return draw(ATOMS)
    kind = draw(st.integers(0, 6))
    sub = expressions(depth + 1)
    if kind == 0:
        return draw(ATOMS)
    if kind == 1:
        return f"({draw(sub)} {draw(OPERATORS)} {draw(sub)})"
    if kind == 2:
        return f"{draw(st.sampled_from(['-', 'not ']))}{draw(sub)}"
    if kind == 3:
        return f"({draw(sub)} if {draw(sub)} else {draw(sub)})"
    if kind == 4:
        return f"{draw(sub)}[{draw(sub)}]"
    if kind == 5:
        return f"[{draw(sub)}, {draw(sub)}]"
    function = FUNCTIONS[draw(st.sampled_from(sorted(FUNCTIONS)))]
    count = draw(st.integers(function.min_args, function.max_args if function.max_args is not None else 3))
    return f"FN.{function.name}({', '.join(draw(sub) for _ in range(count))})"


CONTEXTS = st.builds(
    lambda trigger, result, error, secret, env, vars_, loop: TemplateContext(
        trigger=trigger,
        results={"r": result},
        errors={"r": error},
        secrets={"s": {"K": secret}},
        env=env,
        vars=vars_,
        loop=loop,
    ),
    st.dictionaries(st.sampled_from("abx"), JSON, max_size=3),
    JSON,
    JSON,
    st.text(max_size=10),
    st.dictionaries(st.just("run_id"), JSON, max_size=1),
    st.dictionaries(st.sampled_from("ab"), JSON, max_size=2),
    st.dictionaries(st.just("x"), JSON, max_size=1),
)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_is_a_syntax_error(text: str) -> None:
    with contextlib.suppress(TemplateSyntaxError):
        parse_expression(text)


@FUZZ
@given(st.text(alphabet="${}'\"\\ aT.()[]+-", max_size=60))
def test_arbitrary_templates_scan_or_are_syntax_errors(value: str) -> None:
    with contextlib.suppress(TemplateSyntaxError):
        expressions_in({"v": [value]})


@FUZZ
@given(
    st.lists(st.sampled_from(["(", ")", "[", "]", "{", "}", "-", "not ", "1", ",", ":", "'a'", "+", " if ", " else "]))
)
def test_token_soup_parses_or_is_a_syntax_error(pieces: list[str]) -> None:
    with contextlib.suppress(TemplateSyntaxError):
        parse_expression("".join(pieces))


@FUZZ
@given(expressions(), CONTEXTS)
def test_evaluation_returns_json_or_raises_template_error(text: str, context: TemplateContext) -> None:
    try:
        expression = parse_expression(text)
    except TemplateSyntaxError:
        return
    try:
        value: Any = evaluate(expression, context)
    except TemplateError:
        return
    json.dumps(value, allow_nan=False)  # every result is a JSON value
    assert render("${{ " + text + " }}", context) == value  # deterministic: the same again
