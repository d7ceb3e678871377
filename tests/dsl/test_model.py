"""Validation of workflow definitions at load time."""

from __future__ import annotations

import pytest

from tests.orchestrator.factories import definition


def test_valid_definition_keeps_order_and_defaults() -> None:
    d = definition(
        [
            {"ref": "a", "action": "core.transform.reshape", "args": {"value": 1}},
            {
                "ref": "b",
                "action": "core.transform.reshape",
                "depends_on": ["a"],
                "args": {"value": "${{ ACTIONS.a.result }}"},
            },
        ],
        returns="${{ ACTIONS.b.result }}",
    )
    assert [a.ref for a in d.actions] == ["a", "b"]
    assert d.actions[0].depends_on == []
    assert d.actions[0].retry_policy.max_attempts == 1


@pytest.mark.parametrize("name", ["Triage", "-x", "has space", ""])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        definition([{"ref": "a", "action": "x"}], name=name)


def test_duplicate_refs() -> None:
    with pytest.raises(ValueError, match="duplicate action ref 'a'"):
        definition([{"ref": "a", "action": "x"}, {"ref": "a", "action": "y"}])


def test_depends_on_unknown_ref() -> None:
    with pytest.raises(ValueError, match="depends on unknown ref 'nope'"):
        definition([{"ref": "a", "action": "x"}, {"ref": "b", "action": "x", "depends_on": ["nope"]}])


def test_cycle_is_named() -> None:
    with pytest.raises(ValueError, match="dependency cycle: a -> c -> b -> a"):
        definition(
            [
                {"ref": "a", "action": "x", "depends_on": ["c"]},
                {"ref": "b", "action": "x", "depends_on": ["a"]},
                {"ref": "c", "action": "x", "depends_on": ["b"]},
            ]
        )


def test_template_must_refer_to_an_upstream_action() -> None:
    with pytest.raises(ValueError, match="reads 'b', which is not upstream of 'a'"):
        definition(
            [
                {"ref": "a", "action": "x", "args": {"v": "${{ ACTIONS.b.result }}"}},
                {"ref": "b", "action": "x"},
            ]
        )


def test_every_ref_an_expression_reads_must_be_upstream() -> None:
    """One expression may read several actions (results and errors); each must be upstream."""
    args = {"v": "${{ ACTIONS.a.result.x if ACTIONS.a.result else FN.concat(ACTIONS.c.error.message) }}"}
    with pytest.raises(ValueError, match="reads 'c', which is not upstream of 'b'"):
        definition(
            [
                {"ref": "a", "action": "x"},
                {"ref": "b", "action": "x", "depends_on": ["a"], "args": args},
                {"ref": "c", "action": "x"},
            ]
        )
    d = definition(
        [
            {"ref": "a", "action": "x"},
            {"ref": "c", "action": "x"},
            {"ref": "b", "action": "x", "depends_on": ["a", "c"], "args": args},
        ]
    )
    assert d.actions[2].ref == "b"


def test_function_arity_is_checked_when_the_definition_loads() -> None:
    with pytest.raises(ValueError, match=r"FN\.upper takes 1 argument, not 2"):
        definition([{"ref": "a", "action": "x", "args": {"v": "${{ FN.upper('a', 'b') }}"}}])


def test_transitive_upstream_is_allowed() -> None:
    d = definition(
        [
            {"ref": "a", "action": "x"},
            {"ref": "b", "action": "x", "depends_on": ["a"]},
            {"ref": "c", "action": "x", "depends_on": ["b"], "args": {"v": ["${{ ACTIONS.a.result.0 }}"]}},
        ]
    )
    assert d.actions[2].depends_on == ["b"]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("${{ INPUTS.x }}", "unknown root 'INPUTS'"),
        ("${{ ACTIONS.a }}", r"expected ACTIONS.<ref>.result"),
        ("${{ TRIGGER.a b }}", "at column 11: expected an operator or the end of the expression, found 'b'"),
        ("${{ TRIGGER.alert", "unterminated template"),
        ("${{ }}", "invalid expression"),
    ],
)
def test_bad_template_syntax(template: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        definition([{"ref": "a", "action": "x"}, {"ref": "b", "action": "x", "args": {"v": template}}])


def test_returns_must_name_an_existing_action() -> None:
    with pytest.raises(ValueError, match=r"no action 'zzz'"):
        definition([{"ref": "a", "action": "x"}], returns={"v": "${{ ACTIONS.zzz.result }}"})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="run_iff"):
        definition([{"ref": "a", "action": "x", "run_iff": True}])


def test_actions_are_checked_only_against_a_catalog() -> None:
    """Built definitions (tests, saved runs) skip the registry; files are checked against it by the loader."""
    from dsl.catalog import ActionCatalog
    from dsl.validate import check_definition

    d = definition([{"ref": "a", "action": "x"}])
    assert [p.message for p in check_definition(d, ActionCatalog({}))] == [
        "unknown action 'x' (actions of a package load through the 'alertmesh.actions' entry points or "
        "EXECUTOR_ACTION_MODULES)"
    ]
