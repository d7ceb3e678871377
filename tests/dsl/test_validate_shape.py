"""One test per class of problem in a document's YAML and shape, each at its exact line and column."""

from __future__ import annotations

from pathlib import Path

from tests.dsl.validate_helpers import problems


def test_invalid_yaml_at_the_point_yaml_gave_up(tmp_path: Path) -> None:
    assert problems(tmp_path, "name: x\nactions:\n  - ref: a\n   action: b\n") == [
        "w.yaml:4:4: invalid YAML: while parsing a block collection expected <block end>, but found '<block mapping "
        "start>'"
    ]


def test_several_documents_are_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, "name: x\n---\nname: y\n") == [
        "w.yaml:2:1: invalid YAML: expected a single document in the stream but found another document"
    ]


def test_duplicate_keys_which_yaml_would_drop(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.transform.reshape
        args: {value: 1, value: 2}
    name: y
    """
    assert problems(tmp_path, text) == [
        "w.yaml:5:22: duplicate key 'value' (also on line 5; YAML would keep only the last)",
        "w.yaml:6:1: duplicate key 'name' (also on line 1; YAML would keep only the last)",
    ]


def test_a_document_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert problems(tmp_path, "- name: x\n") == [
        "w.yaml:1:1: a workflow definition is a mapping with 'name' and 'actions', not a list"
    ]
    assert problems(tmp_path, "# nothing\n") == [
        "w.yaml:1:1: a workflow definition is a mapping with 'name' and 'actions', not an empty document"
    ]


def test_unknown_keys_point_at_the_key_with_a_suggestion(tmp_path: Path) -> None:
    text = """\
    name: x
    titel: X
    actions:
      - ref: a
        action: core.transform.reshape
        args: {value: 1}
        run_iff: ${{ true }}
        retry_policy: {max_attempt: 2}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:2:1: unknown key 'titel' (did you mean 'title'?)",
        "w.yaml:7:5: unknown key 'run_iff' (did you mean 'run_if'?)",
        "w.yaml:8:20: unknown key 'max_attempt' (did you mean 'max_attempts'?)",
    ]


def test_missing_keys_point_at_their_mapping(tmp_path: Path) -> None:
    text = """\
    title: no name
    actions:
      - ref: a
        args: {value: 1}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:1:1: missing required key 'name'",
        "w.yaml:3:5: missing required key 'action'",
    ]


def test_wrong_types_point_at_the_value(tmp_path: Path) -> None:
    text = """\
    name: Not-Lowercase
    actions:
      - ref: a
        action: core.transform.reshape
        args: {value: 1}
        depends_on: a-string
        max_concurrency: 0
        for_each: 3
    """
    assert problems(tmp_path, text) == [
        "w.yaml:1:7: name: String should match pattern '^[a-z0-9][a-z0-9_-]*$' (got 'Not-Lowercase')",
        "w.yaml:6:17: depends_on: Input should be a valid list (got 'a-string')",
        "w.yaml:7:22: max_concurrency: Input should be greater than or equal to 1 (got 0)",
        "w.yaml:8:15: for_each: Input should be a valid string or Input should be a valid list (got 3)",
    ]


def test_options_are_replaced_by_retry_policy(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.transform.reshape
        args: {value: 1}
        options: {max_attempts: 3}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:6:5: 'options' is replaced by retry_policy (max_attempts, timeout, initial_interval, "
        "backoff_coefficient, maximum_interval, retry_until, non_retryable)"
    ]


def test_a_shape_problem_does_not_hide_the_others(tmp_path: Path) -> None:
    """The action with a wrong type is still checked for everything else, and so are the others."""
    text = """\
    name: x
    actions:
      - ref: a
        action: core.transform.reshape
        start_delay: soon
        args: {value: "${{ ACTIONS.b.result }}"}
      - ref: b
        action: core.nope
    """
    assert problems(tmp_path, text) == [
        "w.yaml:5:18: start_delay: Input should be a valid number, unable to parse string as a number (got 'soon')",
        "w.yaml:6:20: '${{ ACTIONS.b.result }}' reads 'b', which is not upstream of 'a' (add it to depends_on)",
        "w.yaml:8:13: unknown action 'core.nope' (actions of a package load through the 'alertmesh.actions' "
        "entry points or EXECUTOR_ACTION_MODULES)",
    ]


def test_entrypoint_defaults_must_match_their_type(tmp_path: Path) -> None:
    text = """\
    name: x
    entrypoint:
      expects:
        count: {type: int, default: "3"}
        ratio: {type: float, default: 1}
        flag: {type: bool, default: 0}
        level: {type: str, default: high, enum: [low, 3]}
        any: {default: [1]}
    actions:
      - {ref: a, action: core.transform.reshape, args: {value: 1}}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:4:33: input 'count': default '3' is not an int",
        "w.yaml:6:33: input 'flag': default 0 is not a bool",
        "w.yaml:7:33: input 'level': default 'high' is not in its enum",
        "w.yaml:7:51: input 'level': enum value 3 is not a str",
    ]


def test_values_json_cannot_carry(tmp_path: Path) -> None:
    """Args, returns and defaults travel as JSON (Temporal, Kafka): no NaN, no bytes, no number keys."""
    text = """\
    name: x
    actions:
      - ref: a
        action: core.transform.reshape
        args:
          value: {ok: 1, bad: .nan, raw: !!binary aGVsbG8=, 7: seven}
    """
    assert problems(tmp_path, text) == [
        "w.yaml:6:14: key 7 is not a string (JSON keys are)",
        "w.yaml:6:27: nan is not a JSON number",
        "w.yaml:6:38: a bytes is not a JSON value",
    ]


def test_malformed_options_and_retry_policy_are_problems_not_crashes(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.transform.reshape
        args: {value: 1}
        options: 5
        retry_policy: 3
    """
    assert problems(tmp_path, text) == [
        "w.yaml:6:5: 'options' is replaced by retry_policy (max_attempts, timeout, initial_interval, "
        "backoff_coefficient, maximum_interval, retry_until, non_retryable)",
        "w.yaml:7:19: retry_policy: Input should be a valid dictionary or instance of RetryPolicy (got 3)",
    ]
