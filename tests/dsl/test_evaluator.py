"""Evaluation: every operator and context, short-circuiting, and errors that are always TemplateError."""

from __future__ import annotations

from typing import Any

import pytest

from dsl.templates import TemplateContext, TemplateError, render

CONTEXT = TemplateContext(
    trigger={"alert": {"name": "Disk", "sev": 3, "tags": ["a", "b"], "empty": "", "none": None}, "n": 10},
    results={"geo": {"country": "FR", "ips": ["10.0.0.1", "8.8.8.8"]}, "zero": 0},
    errors={"lookup": {"message": "timed out", "retryable": True}},
    secrets={"vt": {"API_KEY": "k-123"}},
    env={"workflow_id": "wf-1", "run_id": "r-1", "start_time": "2026-01-01T00:00:00+00:00", "workflow": "triage"},
    vars={"teams": {"sec": "soc@example.com"}, "threshold": 2},
    loop={"item": {"host": "web-1"}, "index": 1},
)


def ev(text: str) -> Any:
    return render("${{ " + text + " }}", CONTEXT)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # contexts
        ("TRIGGER.alert.name", "Disk"),
        ("TRIGGER['alert']['tags'][-1]", "b"),
        ("TRIGGER.alert.tags.0", "a"),
        ("ACTIONS.geo.result.ips[1]", "8.8.8.8"),
        ("ACTIONS.zero.result", 0),
        ("ACTIONS.lookup.error.message", "timed out"),
        ("SECRETS.vt.API_KEY", "k-123"),
        ("ENV.workflow", "triage"),
        ("ENV.start_time", "2026-01-01T00:00:00+00:00"),
        ("VARS.teams.sec", "soc@example.com"),
        ("var.item.host", "web-1"),
        ("var.index", 1),
        ("'Disk'[0]", "D"),
        # arithmetic
        ("1 + 2", 3),
        ("1.5 + 1", 2.5),
        ("'a' + 'b'", "ab"),
        ("[1] + [2, 3]", [1, 2, 3]),
        ("7 - 10", -3),
        ("6 * 7", 42),
        ("7 / 2", 3.5),
        ("8 / 2", 4.0),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("-TRIGGER.n", -10),
        ("2 + 3 * 4 - 6 / 3", 12.0),
        # comparisons
        ("1 == 1.0", True),
        ("true == 1", False),
        ("[1, {'a': true}] == [1, {'a': true}]", True),
        ("'a' != 'b'", True),
        ("null == null", True),
        ("1 < 2", True),
        ("2 <= 2", True),
        ("'b' > 'a'", True),
        ("1 >= 2", False),
        # membership
        ("'a' in TRIGGER.alert.tags", True),
        ("'z' not in TRIGGER.alert.tags", True),
        ("'name' in TRIGGER.alert", True),
        ("1 in {'1': 0}", False),
        ("'is' in 'Disk'", True),
        ("1 in [1.0]", True),
        ("true in [1]", False),
        # logic: booleans by truthiness, short-circuit
        ("1 && 'x'", True),
        ("TRIGGER.alert.empty || 0", False),
        ("[] || {'a': 1}", True),
        ("not TRIGGER.alert.none", True),
        ("not 'x'", False),
        ("false && TRIGGER.missing", False),
        ("true || TRIGGER.missing", True),
        # conditional: only the branch taken is evaluated
        ("'yes' if TRIGGER.alert.sev > VARS.threshold else TRIGGER.missing", "yes"),
        ("TRIGGER.missing if 0 else 'no'", "no"),
        # displays
        ("[1, 'a', null, [true]]", [1, "a", None, [True]]),
        ("{'k': TRIGGER.n, 'n': {'m': []}}", {"k": 10, "n": {"m": []}}),
        ("{'a' + 'b': 1}", {"ab": 1}),
        ("FN.upper(var.item.host)", "WEB-1"),
    ],
)
def test_operators_and_contexts(text: str, value: Any) -> None:
    result = ev(text)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("TRIGGER.alert.nope", "no key 'nope' in alert"),
        ("TRIGGER.alert.tags[5]", r"no index '5' in alert.tags \(a list of 2\)"),
        ("TRIGGER.alert.tags['x']", "no index 'x' in alert.tags"),
        ("TRIGGER.alert.tags[true]", "no index 'True' in alert.tags"),
        ("TRIGGER.alert[0]", "object keys are strings; cannot index alert with a number"),
        ("TRIGGER.n.x", r"no key 'x' in n \(a int\)"),
        ("ACTIONS.nope.result", "action 'nope' has no result"),
        ("ACTIONS.geo.error", "action 'geo' has no error"),
        ("SECRETS.nope.KEY", "no secret 'nope'"),
        ("SECRETS.vt.OTHER", "secret 'vt' has no key 'OTHER'"),
        ("ENV.nope", "no key 'nope' in <root>"),
        ("var.nope", "no key 'nope' in <root>"),
        ("'a' - 1", "cannot apply '-' to a string and a number"),
        ("'a' + 1", "cannot apply '\\+' to a string and a number"),
        ("true + 1", "cannot apply '\\+' to a boolean and a number"),
        ("[1] * 2", "cannot apply '\\*' to a list and a number"),
        ("1 / 0", "division by zero"),
        ("1 % 0", "modulo by zero"),
        ("-'a'", "cannot negate a string"),
        ("1 < 'a'", "cannot compare a number and a string with '<'"),
        ("[1] < [2]", "cannot compare a list and a list"),
        ("1 in 5", "'in' needs a list, object or string on the right, not a number"),
        ("1 in 'abc'", "'in' a string needs a string on the left"),
        ("{1: 2}", "object keys must be strings, not a number"),
        ("9223372036854775807 + 1", "does not fit in a 64-bit integer"),
        ("1e308 * 10", "not a finite number"),
        ("FN.upper(1)", "FN.upper: argument must be a string, not a number"),
    ],
)
def test_errors_are_template_errors_naming_the_expression(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as caught:
        ev(text)
    assert str(caught.value).startswith("'${{ " + text + " }}': ")


def test_interpolation_writes_values_as_text() -> None:
    text = "${{ TRIGGER.alert.name }}:${{ 1 + 1 }}:${{ [1, 'a'] }}:${{ TRIGGER.alert.none }}:${{ 1 > 0 }}"
    assert render(text, CONTEXT) == 'Disk:2:[1,"a"]::true'


def test_old_contexts_still_work_without_the_new_fields() -> None:
    context = TemplateContext(trigger={"a": 1}, results={"r": [5]})
    assert render({"x": ["${{ TRIGGER.a }}", "${{ ACTIONS.r.result.0 }}"]}, context) == {"x": [1, 5]}


def test_evaluation_never_touches_python_attributes() -> None:
    """``.name`` reads mapping keys only: a string's methods or a dict's attributes are not reachable."""
    for text in ("TRIGGER.alert.name.upper", "TRIGGER.alert.__class__", "TRIGGER.alert.keys"):
        with pytest.raises(TemplateError, match=r"no (key|index)"):
            ev(text)


def test_deeply_nested_data_is_a_template_error() -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    context = TemplateContext(trigger={"d": deep})
    with pytest.raises(TemplateError, match="nested too deeply"):
        render("${{ TRIGGER.d == TRIGGER.d }}", context)


def test_every_kind_of_node_has_an_evaluator() -> None:
    """The evaluator dispatches on the node's exact type: a node kind added to the tree needs its entry."""
    from typing import get_args

    from dsl import nodes
    from dsl.evaluator import _EVALUATORS

    assert set(_EVALUATORS) == set(get_args(nodes.Node))
