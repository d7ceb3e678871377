"""One test per class of expression problem: syntax (at the very character), reads of refs that are not upstream,
SECRETS outside executor args, unbound loop variables, run_if and for_each forms, wait_until."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dsl.validate_helpers import problems

HEAD = """\
name: x
actions:
  - {ref: up, action: core.transform.reshape, args: {value: 1}}
  - ref: a
    action: core.transform.reshape
    depends_on: [up]
"""


def action(*lines: str) -> str:
    """The definition HEAD with ``lines`` added to action ``a`` (which depends on ``up``), from line 7."""
    return HEAD + "".join(f"    {line}\n" for line in lines)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["args:", "  value: ${{ TRIGGER.a b }}"],
            "8:28: invalid expression '${{ TRIGGER.a b }}' at column 11: expected an operator or the end of the "
            "expression, found 'b'",
        ),
        (
            ["args: {value: 'id ${{ FN.upper(1, 2) }}'}"],
            "7:30: invalid expression '${{ FN.upper(1, 2) }}' at column 4: FN.upper takes 1 argument, not 2",
        ),
        (["args:", "  value: ${{ TRIGGER.a"], "8:14: unterminated template in '${{ TRIGGER.a': '${{' without '}}'"),
        (
            ["args: {value: 1}", "run_if: ${{ 1 + }}"],
            "8:20: invalid expression '${{ 1 + }}' at column 4: expected a value, found the end",
        ),
        (
            ["args: {value: 1}", "wait_until: ${{ INPUTS.at }}"],
            "8:21: invalid expression '${{ INPUTS.at }}' at column 1: unknown root 'INPUTS' (one of TRIGGER, ACTIONS, "
            "SECRETS, ENV, VARS, var, FN, or a literal)",
        ),
        (
            ["args: {value: 1}", "retry_policy: {retry_until: '${{ ACTIONS.a.result == }}'}"],
            "8:57: invalid expression '${{ ACTIONS.a.result == }}' at column 20: expected a value, found the end",
        ),
        (
            ["args: {value: 1}", "for_each: ${{ for var.x in [1, }}"],
            "8:15: invalid expression '${{ [1, }}' at column 4: expected a value, found the end",
        ),
        (
            ["args: {value: 1}", "for_each: ${{ var.x in [1] }}"],
            "8:15: for_each '${{ var.x in [1] }}' must read 'for var.<name> in <expression>'",
        ),
        (
            ["args: {value: 1}", "for_each: ['${{ for var.x in [1] }}', '${{ for var.x in [2] }}']"],
            "8:15: for_each binds var.x more than once",
        ),
    ],
    ids=[
        "args",
        "args-function-arity",
        "unterminated",
        "run_if",
        "wait_until",
        "retry_until",
        "for_each",
        "header",
        "twice",
    ],
)
def test_expressions_that_do_not_parse(tmp_path: Path, lines: list[str], expected: str) -> None:
    assert problems(tmp_path, action(*lines)) == [f"w.yaml:{expected}"]


def test_returns_that_does_not_parse_or_names_no_action(tmp_path: Path) -> None:
    text = (
        HEAD
        + "    args: {value: 1}\nreturns:\n  a: ${{ ACTIONS.a.result }}\n  b: ${{ ACTIONS.zz.result }}\n  c: ${{ ( }}\n"
    )
    assert problems(tmp_path, text) == [
        "w.yaml:10:6: '${{ ACTIONS.zz.result }}': no action 'zz'",
        "w.yaml:11:11: invalid expression '${{ ( }}' at column 2: expected a value, found the end",
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["args: {value: '${{ ACTIONS.later.result }}'}"], "7:20: '${{ ACTIONS.later.result }}' reads 'later'"),
        (
            ["args: {value: 1}", "run_if: ${{ ACTIONS.later.error }}"],
            "8:13: '${{ ACTIONS.later.error }}' reads 'later'",
        ),
        (
            ["args: {value: 1}", "for_each: ${{ for var.x in ACTIONS.later.result }}"],
            "8:15: '${{ ACTIONS.later.result }}' reads 'later'",
        ),
        (
            ["args: {value: 1}", "retry_policy: {retry_until: '${{ ACTIONS.later.result }}'}"],
            "8:34: '${{ ACTIONS.later.result }}' reads 'later'",
        ),
        (
            ["args: {value: 1}", "wait_until: ${{ ACTIONS.later.result }}"],
            "8:17: '${{ ACTIONS.later.result }}' reads 'later'",
        ),
    ],
    ids=["args", "run_if", "for_each", "retry_until", "wait_until"],
)
def test_reads_of_refs_that_are_not_upstream(tmp_path: Path, lines: list[str], expected: str) -> None:
    text = action(*lines) + "  - {ref: later, action: core.transform.reshape, args: {value: 1}}\n"
    assert problems(tmp_path, text) == [f"w.yaml:{expected}, which is not upstream of 'a' (add it to depends_on)"]


def test_what_may_be_read_where(tmp_path: Path) -> None:
    """Upstream refs everywhere (transitively), an action's own result in its retry_until, any ref in returns,
    secrets in executor args, loop variables in args and retry_until of an action with for_each."""
    text = """\
    name: x
    actions:
      - {ref: first, action: core.transform.reshape, args: {value: [1, 2]}}
      - {ref: up, action: core.transform.reshape, args: {value: 1}, depends_on: [first.error]}
      - ref: a
        action: core.http_request
        depends_on: [up]
        run_if: ${{ ACTIONS.first.result != null && ACTIONS.up.error == null }}
        for_each: ['${{ for var.x in ACTIONS.first.result }}', '${{ for var.y in [3, 4] }}']
        wait_until: ${{ TRIGGER.at }}
        retry_policy: {retry_until: '${{ ACTIONS.a.result.status_code == var.x }}'}
        args:
          url: https://example.org/${{ var.x }}/${{ var.y }}
          headers: {Authorization: "Bearer ${{ SECRETS.api.TOKEN }}"}
    returns: ${{ [ACTIONS.a.result, ACTIONS.first.result, ENV.workflow_id, VARS.site] }}
    """
    assert problems(tmp_path, text) == []


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        (
            ["args: {value: 1}", "run_if: ${{ SECRETS.api.TOKEN }}"],
            "8:13: '${{ SECRETS.api.TOKEN }}' reads SECRETS.api.TOKEN: ",
        ),
        (
            ["args: {value: 1}", "for_each: ${{ for var.k in SECRETS.api.KEYS }}"],
            "8:15: '${{ SECRETS.api.KEYS }}' reads SECRETS.api.KEYS: ",
        ),
        (
            ["args: {value: 1}", "retry_policy: {retry_until: '${{ SECRETS.api.T == 1 }}'}"],
            "8:34: '${{ SECRETS.api.T == 1 }}' reads SECRETS.api.T: ",
        ),
        (["args: {value: 1}", "wait_until: ${{ SECRETS.a.AT }}"], "8:17: '${{ SECRETS.a.AT }}' reads SECRETS.a.AT: "),
    ],
    ids=["run_if", "for_each", "retry_until", "wait_until"],
)
def test_secrets_outside_executor_args(tmp_path: Path, lines: list[str], where: str) -> None:
    place = lines[1].split(":")[0].replace("retry_policy", "retry_until")
    why = (
        "retry_until judges the result; secrets are resolved for args only"
        if place == "retry_until"
        else f"the workflow evaluates {place}, and its history would keep the secret"
    )
    assert problems(tmp_path, action(*lines)) == [
        f"w.yaml:{where}secrets can only be read in the args of an action the executor runs ({why})"
    ]


def test_secrets_in_returns_and_in_child_workflow_args(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: child
        action: core.workflow.execute
        args: {workflow: other, inputs: {token: "${{ SECRETS.api.TOKEN }}"}}
    returns: ${{ SECRETS.api.TOKEN }}
    """
    tail = "reads SECRETS.api.TOKEN: secrets can only be read in the args of an action the executor runs"
    assert problems(tmp_path, text) == [
        f"w.yaml:5:46: '${{{{ SECRETS.api.TOKEN }}}}' {tail} (the workflow renders the args of core.workflow.execute, "
        "and its history would keep the secret)",
        f"w.yaml:6:10: '${{{{ SECRETS.api.TOKEN }}}}' {tail} (the result event would carry the secret)",
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["args: {value: '${{ var.x }}'}"],
            "7:20: '${{ var.x }}' reads var.x, which 'a' does not bind (it has no for_each)",
        ),
        (
            ["for_each: ${{ for var.x in [1] }}", "args: {value: '${{ var.y }}'}"],
            "8:20: '${{ var.y }}' reads var.y, which 'a' does not bind (its for_each binds var.x)",
        ),
        (
            ["for_each: ${{ for var.x in [1] }}", "args: {value: 1}", "run_if: ${{ var.x > 0 }}"],
            "9:13: '${{ var.x > 0 }}' reads var: loop variables are only bound in args and retry_until of an action "
            "with for_each, and run_if is evaluated once for the whole action",
        ),
        (
            ["for_each: ['${{ for var.x in [1] }}', '${{ for var.y in var.x }}']", "args: {value: 1}"],
            "7:43: '${{ var.x }}' reads var: loop variables are only bound in args and retry_until of an action with "
            "for_each, and for_each is evaluated once for the whole action",
        ),
    ],
    ids=["no-for_each", "other-name", "run_if", "for_each"],
)
def test_loop_variables_that_are_not_bound(tmp_path: Path, lines: list[str], expected: str) -> None:
    assert problems(tmp_path, action(*lines)) == [f"w.yaml:{expected}"]


@pytest.mark.parametrize(
    "run_if",
    ["'x ${{ TRIGGER.a }}'", "'${{ TRIGGER.a }} ${{ TRIGGER.b }}'"],
    ids=["text-around", "two"],
)
def test_run_if_must_be_exactly_one_expression(tmp_path: Path, run_if: str) -> None:
    found = problems(tmp_path, action("args: {value: 1}", f"run_if: {run_if}"))
    assert found == [
        f"w.yaml:8:13: run_if must be one expression (bare, or one '${{{{ ... }}}}'), not text with templates: {run_if}"
    ]


def test_bare_run_if_and_retry_until_are_expressions(tmp_path: Path) -> None:
    """As the runtime takes them: checked the same way, a syntax error at its very character."""
    valid = action(
        "args: {value: 1}", "run_if: ACTIONS.up.result == 1", "retry_policy: {retry_until: ACTIONS.a.result}"
    )
    assert problems(tmp_path, valid) == []
    assert problems(tmp_path, action("args: {value: 1}", "run_if: ACTIONS.up.result ==")) == [
        "w.yaml:8:33: invalid expression '${{ ACTIONS.up.result == }}' at column 21: expected a value, found the end"
    ]
    assert problems(tmp_path, action("args: {value: 1}", "run_if: ACTIONS.later.result")) == [
        "w.yaml:8:13: '${{ ACTIONS.later.result }}' reads 'later', which is not upstream of 'a' (add it to depends_on)"
    ]


def test_wait_until_literal_must_be_a_date_time(tmp_path: Path) -> None:
    assert problems(tmp_path, action("args: {value: 1}", "wait_until: 2026-01-31T09:00:00Z")) == []
    assert problems(tmp_path, action("args: {value: 1}", "wait_until: tomorrow")) == [
        "w.yaml:8:17: wait_until 'tomorrow' is not an ISO 8601 date-time (e.g. 2026-01-31T09:00:00Z)"
    ]
