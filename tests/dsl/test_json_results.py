"""Every function's result is JSON: no infinity, no integer beyond 64 bits, anywhere inside it. ``FN.from_json``
read ``[1e400]`` as ``[inf]`` and ``[2**70]`` as a Python int, and such a value broke the next JSON encoder (the
result event, Temporal's payloads); it is now a clear error naming the function."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl.errors import TemplateError
from dsl.evaluator import Scope, evaluate
from dsl.expressions import parse_expression
from dsl.functions import FUNCTIONS
from tests.shared.strategies import FUZZ

#: What JSON encoders (orjson) write exactly: signed or unsigned 64-bit integers.
MIN_JSON_INT, MAX_JSON_INT = -(2**63), 2**64 - 1

#: Number tokens as JSON text spells them, from harmless to beyond what a float or 64 bits hold.
NUMBER_TOKENS = (
    st.integers(-(2**80), 2**80).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.sampled_from(["1e400", "-1e400", "1e309", "2.5e308", "18446744073709551615", "18446744073709551616",
                       "-9223372036854775808", "-9223372036854775809", "1e308", "0.0", "-0"])
)  # fmt: skip
LEAF_TOKENS = NUMBER_TOKENS | st.sampled_from(['"x"', "true", "null", '"1e400"'])
JSON_TEXT: st.SearchStrategy[str] = st.recursive(
    LEAF_TOKENS,
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
        | st.lists(st.tuples(st.sampled_from(["a", "b c", "k"]), inner), max_size=3).map(
            lambda pairs: "{" + ",".join(f'"{key}{i}":{value}' for i, (key, value) in enumerate(pairs)) + "}"
        )
    ),
    max_leaves=10,
)


def _numbers_fit(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return MIN_JSON_INT <= value <= MAX_JSON_INT
    if isinstance(value, list):
        return all(_numbers_fit(item) for item in value)
    return all(_numbers_fit(item) for item in value.values())


def _scope() -> Scope:
    return Scope(trigger={}, results={}, errors={}, secrets={}, env={}, vars={}, loop={})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1e400]", "inf (not a finite number) at [0]"),
        ('{"a": [1, -1e999]}', "-inf (not a finite number) at a[1]"),
        ('[{"x y": 18446744073709551616}]', "an integer beyond 64 bits at [0]['x y']"),
        ("[[-9223372036854775809]]", "an integer beyond 64 bits at [0][0]"),
        ("1e400", "inf (not a finite number)"),
    ],
)
def test_from_json_refuses_numbers_json_cannot_carry(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=r"^FN\.from_json: the result holds ") as caught:
        FUNCTIONS["from_json"].call(text)
    assert str(caught.value) == f"FN.from_json: the result holds {problem}"


def test_from_json_keeps_the_64_bit_extremes() -> None:
    value = FUNCTIONS["from_json"].call("[18446744073709551615, -9223372036854775808, 1.7976931348623157e308]")
    assert value == [2**64 - 1, -(2**63), 1.7976931348623157e308]


@given(text=JSON_TEXT)
@FUZZ
def test_from_json_gives_json_or_names_itself(text: str) -> None:
    parsed = json.loads(text)  # the oracle: what Python's parser reads, before any check
    try:
        value = FUNCTIONS["from_json"].call(text)
    except TemplateError as error:
        assert str(error).startswith("FN.from_json: the result holds ")
        assert not _numbers_fit(parsed)
        return
    assert _numbers_fit(parsed)
    assert orjson.loads(orjson.dumps(value)) == value
    # Through an expression too: a nested value that is not JSON is an error of the expression, never a result.
    expression = parse_expression(f"FN.from_json({json.dumps(text)})")
    assert evaluate(expression.tree, expression.text, _scope()) == value


JSON_ARGS: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(MIN_JSON_INT, MAX_JSON_INT)
    | st.sampled_from([1e308, -1e308, 2**63 - 1, 2**64 - 1, -(2**63), 0.5, 10])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["[1e400]", "1e400", "[18446744073709551616]", "1h", "2026-01-01T00:00:00Z", "10.0.0.1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(name=st.sampled_from(sorted(FUNCTIONS)), args=st.lists(JSON_ARGS, max_size=3))
@FUZZ
def test_every_function_gives_json_or_a_template_error(name: str, args: list[Any]) -> None:
    function = FUNCTIONS[name]
    if function.arity_problem(len(args)):
        return
    try:
        result = function.call(*args)
    except TemplateError:
        return
    assert _numbers_fit(result), (name, args, result)
    orjson.dumps(result)  # raises for anything JSON cannot carry
