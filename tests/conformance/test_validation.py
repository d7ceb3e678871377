"""One case per class of validation error: the loader (as the orchestrator loads its workflows) and
``alertmesh validate`` name the file, line and column of what is wrong."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import tests.conformance.actions  # noqa: F401  (conformance.* are known actions here)
from dsl.loader import WorkflowLoadError, load_definition, load_workflows
from services.executor.catalog import action_catalog
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.conftest import REPO

HEAD = "name: broken\nactions:\n"


def problems(tmp_path: Path, text: str) -> str:
    """The loader's error for ``text`` saved as broken.yaml."""
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowLoadError) as raised:
        load_definition(path, action_catalog)
    return str(raised.value)


def assert_at(message: str, tmp_path: Path, line: int, column: int, *words: str) -> None:
    """``message`` points at ``broken.yaml:line:column`` and says ``words``."""
    where = re.escape(f"{tmp_path / 'broken.yaml'}:{line}:") + f"{column}:"
    assert re.search(where, message), message
    for word in words:
        assert word in message, message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\ncolour: red\n"
    assert_at(problems(tmp_path, text), tmp_path, 6, 1, "colour")


def test_unknown_action_key(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    retries: 3\n    args: {value: 1}\n"
    assert_at(problems(tmp_path, text), tmp_path, 5, 5, "retries")


def test_wrong_value_type(tmp_path: Path) -> None:
    text = (
        HEAD
        + "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n"
        + "    retry_policy:\n      max_attempts: lots\n"
    )
    assert_at(problems(tmp_path, text), tmp_path, 7, 21, "max_attempts")


def test_duplicate_refs(tmp_path: Path) -> None:
    text = HEAD + (
        "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n"
        "  - ref: a\n    action: core.transform.reshape\n    args: {value: 2}\n"
    )
    assert_at(problems(tmp_path, text), tmp_path, 6, 10, "duplicate", "'a'")


def test_missing_dependency(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    depends_on: [nothere]\n    args: {value: 1}\n"
    assert_at(problems(tmp_path, text), tmp_path, 5, 18, "nothere")


def test_dependency_cycle(tmp_path: Path) -> None:
    text = HEAD + (
        "  - ref: a\n    action: core.transform.reshape\n    depends_on: [b]\n    args: {value: 1}\n"
        "  - ref: b\n    action: core.transform.reshape\n    depends_on: [a]\n    args: {value: 2}\n"
    )
    message = problems(tmp_path, text)
    assert_at(message, tmp_path, 5, 17, "cycle", "a -> b -> a")


def test_unknown_action(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.does_not_exist\n    args: {}\n"
    assert_at(problems(tmp_path, text), tmp_path, 4, 13, "core.does_not_exist")


def test_args_not_matching_the_action_signature(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: conformance.sleep\n    args:\n      seconds: 1\n      snooze: true\n"
    assert_at(problems(tmp_path, text), tmp_path, 7, 7, "snooze")


def test_args_of_the_wrong_type(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: conformance.sleep\n    args:\n      seconds: forever\n"
    assert_at(problems(tmp_path, text), tmp_path, 6, 16, "seconds")


def test_missing_required_arg(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: conformance.sleep\n    args:\n      label: x\n"
    # At the args mapping (its first key), as the missing key has no position of its own.
    assert_at(problems(tmp_path, text), tmp_path, 6, 7, "seconds")


def test_expression_that_does_not_parse(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    args:\n      value: ${{ TRIGGER.alert. + }}\n"
    assert_at(problems(tmp_path, text), tmp_path, 6, 33, "TRIGGER.alert. +")


def test_run_if_that_does_not_parse(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    run_if: ${{ 1 >> 2 }}\n    args: {value: 1}\n"
    assert_at(problems(tmp_path, text), tmp_path, 5, 20, "1 >> 2")


def test_reference_to_a_ref_that_is_not_upstream(tmp_path: Path) -> None:
    text = HEAD + (
        "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n"
        "  - ref: b\n    action: core.transform.reshape\n    args:\n      value: ${{ ACTIONS.a.result }}\n"
    )
    assert_at(problems(tmp_path, text), tmp_path, 9, 14, "'a'", "upstream")


def test_secrets_outside_action_args(tmp_path: Path) -> None:
    text = HEAD + (
        "  - ref: a\n    action: core.transform.reshape\n    run_if: ${{ SECRETS.vendor.KEY == 'x' }}\n"
        "    args: {value: 1}\n"
    )
    assert_at(problems(tmp_path, text), tmp_path, 5, 13, "SECRETS")


def test_malformed_for_each(tmp_path: Path) -> None:
    text = HEAD + (
        "  - ref: a\n    action: core.transform.reshape\n    for_each: ${{ each x in [1, 2] }}\n    args: {value: 1}\n"
    )
    assert_at(problems(tmp_path, text), tmp_path, 5, 15, "for_each")


@pytest.mark.parametrize(
    ("lines", "line", "column", "words"),
    [
        (["    start_delay: .inf"], 6, 18, ("start_delay", "finite")),
        (["    retry_policy: {timeout: 1e15}"], 6, 29, ("timeout", "at most 31622400")),
        (["    retry_policy:", "      maximum_interval: -5"], 7, 25, ("maximum_interval", "greater than or equal")),
        (["    retry_policy:", "      backoff_coefficient: .inf"], 7, 28, ("backoff_coefficient", "less than")),
    ],
)
def test_durations_that_are_not_finite_or_over_a_year(
    tmp_path: Path, lines: list[str], line: int, column: int, words: tuple[str, ...]
) -> None:
    action = "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n"
    text = HEAD + action + "".join(f"{s}\n" for s in lines)
    assert_at(problems(tmp_path, text), tmp_path, line, column, *words)


def test_a_run_timeout_that_is_not_finite(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\nconfig: {timeout: .inf}\n"
    assert_at(problems(tmp_path, text), tmp_path, 6, 19, "timeout", "finite")


def test_a_regex_re2_cannot_run(tmp_path: Path) -> None:
    text = HEAD + (
        "  - ref: a\n    action: core.transform.reshape\n"
        "    args: {value: \"${{ FN.regex_search('(?<=x)y', TRIGGER.alert.summary) }}\"}\n"
    )
    assert_at(problems(tmp_path, text), tmp_path, 5, 40, "FN.regex_search: invalid pattern", "lookbehind")


def test_invalid_yaml(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: [unclosed\n"
    message = problems(tmp_path, text)
    assert re.search(re.escape(str(tmp_path / "broken.yaml")) + r":\d+:\d+:", message), message


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = HEAD + (
        "  - ref: a\n    action: core.does_not_exist\n    args: {}\n"
        "  - ref: b\n    action: core.transform.reshape\n    depends_on: [ghost]\n    args: {value: 1}\n"
    )
    message = problems(tmp_path, text)
    assert "core.does_not_exist" in message and "ghost" in message


def folder_problems(tmp_path: Path, files: dict[str, str]) -> str:
    """The loader's error for a workflows folder holding ``files`` (as the orchestrator loads its folder)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowLoadError) as raised:
        load_workflows(tmp_path, action_catalog)
    return str(raised.value)


def test_child_workflow_that_does_not_exist(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.workflow.execute\n    args:\n      workflow: nowhere\n"
    message = folder_problems(tmp_path, {"broken.yaml": text})
    assert_at(message, tmp_path, 6, 17, "no workflow named 'nowhere'")


def test_error_handler_that_does_not_exist(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\nerror_handler: ghost\n"
    message = folder_problems(tmp_path, {"broken.yaml": text})
    assert_at(message, tmp_path, 6, 16, "no workflow named 'ghost'")


def test_two_files_with_one_workflow_name(tmp_path: Path) -> None:
    text = HEAD + "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n"
    message = folder_problems(tmp_path, {"another.yaml": text, "broken.yaml": text})
    assert "broken" in message and str(tmp_path / "broken.yaml") in message, message


def validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertmesh.cli", "validate", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_alertmesh_validate_names_file_line_column_and_exits_non_zero(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(HEAD + "  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n", encoding="utf-8")
    bad = tmp_path / "broken.yaml"
    bad.write_text(HEAD + "  - ref: a\n    action: core.does_not_exist\n", encoding="utf-8")
    done = validate(good, bad)
    assert done.returncode != 0
    assert f"{bad}:4:13:" in done.stdout + done.stderr
    assert str(good) + ":" not in done.stdout + done.stderr


def test_alertmesh_validate_refuses_an_infinite_delay_and_a_lookahead(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(
        HEAD + "  - ref: a\n    action: core.transform.reshape\n    start_delay: .inf\n"
        "    args: {value: \"${{ FN.regex_extract('(a)(?=b)', TRIGGER.alert.summary) }}\"}\n",
        encoding="utf-8",
    )
    done = validate(bad)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"{bad}:5:18: start_delay: " in output, output
    assert f"{bad}:6:41: " in output and "RE2 (linear-time matching) cannot run it: lookahead" in output, output


def test_every_demo_workflow_validates() -> None:
    demos = sorted((WORKFLOWS_DIR).glob("*.yaml"))
    assert len(demos) >= 2
    done = validate(*demos)
    assert done.returncode == 0, done.stdout + done.stderr
