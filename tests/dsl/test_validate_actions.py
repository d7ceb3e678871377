"""One test per class of problem with refs, edges, actions and their args, each at its exact line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dsl.validate_helpers import problems

RESHAPE = "core.transform.reshape"


def test_duplicate_refs(tmp_path: Path) -> None:
    text = f"""\
    name: x
    actions:
      - {{ref: a, action: {RESHAPE}, args: {{value: 1}}}}
      - {{ref: a, action: {RESHAPE}, args: {{value: 2}}}}
    """
    assert problems(tmp_path, text) == ["w.yaml:4:11: duplicate action ref 'a'"]


def test_missing_dependencies_of_every_edge_kind(tmp_path: Path) -> None:
    text = f"""\
    name: x
    actions:
      - {{ref: a, action: {RESHAPE}, args: {{value: 1}}}}
      - ref: b
        action: {RESHAPE}
        args: {{value: 1}}
        depends_on: [a, gone, lost.error, missing.success, a.error]
    """
    assert problems(tmp_path, text) == [
        "w.yaml:7:21: depends on unknown ref 'gone'",
        "w.yaml:7:27: depends on unknown ref 'lost'",
        "w.yaml:7:39: depends on unknown ref 'missing'",
    ]


def test_dependency_cycles(tmp_path: Path) -> None:
    text = f"""\
    name: x
    actions:
      - {{ref: a, action: {RESHAPE}, args: {{value: 1}}, depends_on: [c]}}
      - {{ref: b, action: {RESHAPE}, args: {{value: 1}}, depends_on: [a.error]}}
      - {{ref: c, action: {RESHAPE}, args: {{value: 1}}, depends_on: [b]}}
    """
    assert problems(tmp_path, text) == ["w.yaml:3:76: dependency cycle: a -> c -> b -> a"]


def test_unknown_actions_with_a_suggestion(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.text.extract_url
        args: {texts: x}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:4:13: unknown action 'core.text.extract_url' (did you mean 'core.text.extract_urls'?)"
    ]


def test_unknown_args_point_at_the_key(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.http_request
        args:
          url: https://example.org
          header: {A: b}
    """
    (found,) = problems(tmp_path, text)
    # The list of args it takes grows with the action; its first ones are enough here.
    assert found.startswith("w.yaml:7:7: core.http_request has no arg 'header' (did you mean 'headers'? it takes url, ")


def test_missing_required_args_point_at_args_or_the_action(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.http_request
        args:
          method: GET
      - ref: b
        action: core.transform.reshape
    """
    assert problems(tmp_path, text) == [
        "w.yaml:6:7: core.http_request needs arg 'url'",
        "w.yaml:7:5: core.transform.reshape needs arg 'value'",
    ]


def test_literal_args_of_the_wrong_type(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.http_request
        args:
          url: ftp://example.org
          method: get
          timeout: -1
          headers: {A: [1]}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:6:12: url: String should match pattern '(?i)^https?://' (got 'ftp://example.org')",
        "w.yaml:8:16: timeout: Input should be greater than 0 (got -1)",
        "w.yaml:9:20: A: Input should be a valid string",
    ]


def test_templated_args_are_checked_only_once_rendered(tmp_path: Path) -> None:
    """A value that is or holds a template is not known before the run; the literal args beside it still are."""
    text = """\
    name: x
    actions:
      - ref: a
        action: core.http_request
        args:
          url: ${{ TRIGGER.url }}
          timeout: ${{ TRIGGER.timeout }}
          headers: {A: "${{ TRIGGER.a }}"}
          max_bytes: lots
    """
    assert problems(tmp_path, text) == [
        "w.yaml:9:18: max_bytes: Input should be a valid integer, unable to parse string as an integer (got 'lots')"
    ]


def test_child_workflow_args_are_checked(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.workflow.execute
        args: {inputs: {}, wait: sometimes}
      - ref: b
        action: core.workflow.execute
        args: {workflow: "${{ TRIGGER.which }}"}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:5:11: core.workflow.execute needs arg 'workflow'",
        "w.yaml:5:30: wait: Input should be a valid boolean, unable to interpret input (got 'sometimes')",
        "w.yaml:8:22: core.workflow.execute needs a literal workflow name: the child's definition is sent with the "
        "run, so it must be known before the run starts",
    ]


def test_error_handler_naming_itself(tmp_path: Path) -> None:
    text = f"""\
    name: x
    error_handler: x
    actions:
      - {{ref: a, action: {RESHAPE}, args: {{value: 1}}}}
    """
    assert problems(tmp_path, text) == ["w.yaml:2:16: error_handler names the workflow itself ('x')"]


def test_actions_from_action_modules_are_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EXECUTOR_ACTION_MODULES (as the executor reads it) adds actions; the chaos action is one."""
    text = """\
    name: x
    actions:
      - {ref: a, action: chaos.record_run, args: {file: /tmp/x, workflow_id: w, seconds: 0}}
    """
    monkeypatch.setenv("EXECUTOR_ACTION_MODULES", "alertmesh.chaos.actions")
    assert problems(tmp_path, text) == []


def test_on_resolved_names_known_refs_once(tmp_path: Path) -> None:
    text = f"""\
    name: x
    on_resolved:
      cancel_pending: true
      run: [a, gone, a]
    actions:
      - {{ref: a, action: {RESHAPE}, args: {{value: 1}}}}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:4:12: on_resolved runs unknown ref 'gone'",
        "w.yaml:4:18: on_resolved runs 'a' twice",
    ]


def test_on_resolved_keys_are_checked(tmp_path: Path) -> None:
    text = f"""\
    name: x
    on_resolved: {{cancel_pendng: true}}
    actions:
      - {{ref: a, action: {RESHAPE}, args: {{value: 1}}}}
    """
    assert problems(tmp_path, text) == ["w.yaml:2:15: unknown key 'cancel_pendng' (did you mean 'cancel_pending'?)"]
