"""``core.transform.*``: reshape, filter, map, deduplicate, flatten."""

from __future__ import annotations

from typing import Any

import pytest

from dsl.errors import TemplateError
from services.executor.actions import InvalidArguments, get_action
from services.executor.actions.transform import ReshapeArgs, reshape


def call(name: str, **raw: Any) -> Any:
    spec = get_action(name)
    return spec.func(spec.parse_args(raw))


@pytest.mark.parametrize("value", [{"a": [1, {"b": None}]}, [1, "two"], "text", 3.5, None, True])
def test_reshape_returns_value(value: object) -> None:
    assert reshape(ReshapeArgs(value=value)) == value


def test_reshape_needs_value() -> None:
    with pytest.raises(InvalidArguments, match="value: Field required"):
        get_action("core.transform.reshape").parse_args({})


ALERTS = [{"host": "a", "sev": 5}, {"host": "b", "sev": 2}, {"host": "a", "sev": 7}]


def test_filter_keeps_items_where_the_condition_holds() -> None:
    assert call("core.transform.filter", items=ALERTS, condition="var.item.sev > 3") == [ALERTS[0], ALERTS[2]]
    assert call("core.transform.filter", items=[0, 1, 2, 3], condition="var.index % 2 == 1") == [1, 3]


def test_map_evaluates_the_expression_per_item() -> None:
    mapped = call("core.transform.map", items=ALERTS, expression='FN.upper(var.item.host) + "-" + FN.to_str(var.index)')
    assert mapped == ["A-0", "B-1", "A-2"]


def test_an_expression_failing_on_an_item_names_the_item() -> None:
    with pytest.raises(TemplateError, match=r"item 1: .*no key 'sev'"):
        call("core.transform.map", items=[{"sev": 1}, {}], expression="var.item.sev")


@pytest.mark.parametrize("name", ["core.transform.filter", "core.transform.map"])
def test_templates_and_syntax_errors_are_refused_up_front(name: str) -> None:
    field = "condition" if name.endswith("filter") else "expression"
    with pytest.raises(InvalidArguments, match="bare"):
        get_action(name).parse_args({"items": [], field: "${{ var.item }}"})
    with pytest.raises(InvalidArguments, match=field):
        get_action(name).parse_args({"items": [], field: "var.item +"})


def test_deduplicate_whole_items_or_by_keys() -> None:
    assert call("core.transform.deduplicate", items=[1, 2, 1, {"a": 1, "b": 2}, {"b": 2, "a": 1}]) == [
        1,
        2,
        {"a": 1, "b": 2},
    ]
    assert call("core.transform.deduplicate", items=ALERTS, keys=["host"]) == ALERTS[:2]
    nested = [{"x": {"id": 1}, "n": 1}, {"x": {"id": 1}, "n": 2}]
    assert call("core.transform.deduplicate", items=nested, keys=["x.id"]) == nested[:1]


def test_flatten_to_a_depth() -> None:
    assert call("core.transform.flatten", items=[[1, [2]], 3, [[4, [5]]]]) == [1, [2], 3, [4, [5]]]
    assert call("core.transform.flatten", items=[[1, [2]], 3, [[4, [5]]]], depth=5) == [1, 2, 3, 4, 5]


def test_transforms_are_pure() -> None:
    for name in ("reshape", "filter", "map", "deduplicate", "flatten"):
        assert get_action(f"core.transform.{name}").pure
