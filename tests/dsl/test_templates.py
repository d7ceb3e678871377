"""Template evaluation: types kept, interpolation, missing paths."""

from __future__ import annotations

import pytest

from dsl.templates import TemplateContext, TemplateError, render

CONTEXT = TemplateContext(
    trigger={"alert": {"name": "Disk", "labels": {"sev": "high"}, "count": 3, "gone": None}, "inputs": {"team": "x"}},
    results={"urls": ["https://a", "https://b"], "obj": {"items": [{"id": 7}]}},
)


def test_whole_string_keeps_json_type() -> None:
    assert render("${{ TRIGGER.alert.count }}", CONTEXT) == 3
    assert render("${{ ACTIONS.urls.result }}", CONTEXT) == ["https://a", "https://b"]
    assert render("${{TRIGGER.alert.labels}}", CONTEXT) == {"sev": "high"}
    assert render("${{ TRIGGER.alert.gone }}", CONTEXT) is None


def test_list_indexes_and_nested_paths() -> None:
    assert render("${{ ACTIONS.obj.result.items.0.id }}", CONTEXT) == 7
    assert render("${{ ACTIONS.urls.result.1 }}", CONTEXT) == "https://b"


def test_embedded_expressions_interpolate_as_text() -> None:
    text = (
        "${{ TRIGGER.alert.name }} n=${{ TRIGGER.alert.count }} ${{ TRIGGER.alert.labels }}[${{ TRIGGER.alert.gone }}]"
    )
    assert render(text, CONTEXT) == 'Disk n=3 {"sev":"high"}[]'


def test_recurses_through_dicts_and_lists_without_touching_keys() -> None:
    value = {"${{ x }}": [1, {"team": "${{ TRIGGER.inputs.team }}"}], "n": None}
    assert render(value, CONTEXT) == {"${{ x }}": [1, {"team": "x"}], "n": None}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${{ TRIGGER.alert.nope }}", r"'\$\{\{ TRIGGER.alert.nope \}\}': no key 'nope' in alert"),
        ("${{ ACTIONS.urls.result.5 }}", "no index '5' in <root> \\(a list of 2\\)"),
        ("${{ ACTIONS.urls.result.first }}", "no index 'first'"),
        ("${{ TRIGGER.alert.count.x }}", "no key 'x' in alert.count \\(a int\\)"),
        ("see ${{ ACTIONS.missing.result }}", "action 'missing' has no result"),
    ],
)
def test_missing_paths_name_expression_and_key(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render(template, CONTEXT)
