"""Every duration-like key of a workflow (and of a routing rule) is refused, at its ``file:line:col``, when it is
not finite, negative or over a year: such a definition used to validate and then fail its workflow task forever."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dsl.durations import MAX_BACKOFF, MAX_SECONDS
from services.ingest.routing import RoutingFileError, parse_routing
from tests.dsl.validate_helpers import problems
from tests.shared.strategies import FUZZ

#: Each duration key: where it goes in an action (or the definition), and whether 0 is allowed.
ACTION_KEYS = {
    "start_delay": (("start_delay",), True),
    "retry_policy.timeout": (("retry_policy", "timeout"), False),
    "retry_policy.initial_interval": (("retry_policy", "initial_interval"), True),
    "retry_policy.maximum_interval": (("retry_policy", "maximum_interval"), True),
}
BAD = [".inf", "-.inf", ".nan", "1e15", "1.0e+300", "-1", str(MAX_SECONDS + 1), "99999999999999999999999"]
#: Durations of any size and sign, with YAML's spellings of the non-finite ones.
DURATIONS = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 0.0, 1, MAX_SECONDS, MAX_SECONDS + 1, MAX_SECONDS + 0.5, 1e15, 1e-300])
)


def _workflow(action_extra: dict[str, Any], config: dict[str, Any] | None = None) -> str:
    action = {"ref": "a", "action": "core.transform.reshape", "args": {"value": 1}, **action_extra}
    document: dict[str, Any] = {"name": "x", "actions": [action]}
    if config is not None:
        document["config"] = config
    return yaml.safe_dump(document, sort_keys=False)


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    return {path[0]: value} if len(path) == 1 else {path[0]: _nest(path[1:], value)}


def _problem_text(path: tuple[str, ...], raw: str) -> str:
    """The definition as YAML text with ``raw`` (YAML source, e.g. ``.inf``) at ``path`` of action ``a``."""
    text = _workflow(_nest(path, "__VALUE__"))
    return text.replace("__VALUE__", raw)


def _last(key: str) -> str:
    """How a problem names the key: its own name (the line and column say which action's)."""
    return re.escape(key.rsplit(".", 1)[-1])


def _allowed(value: float, zero: bool) -> bool:
    return math.isfinite(value) and (value >= 0 if zero else value > 0) and value <= MAX_SECONDS


@pytest.mark.parametrize("key", list(ACTION_KEYS))
@pytest.mark.parametrize("raw", BAD)
def test_absurd_action_durations_are_refused_at_their_position(tmp_path: Path, key: str, raw: str) -> None:
    path, _ = ACTION_KEYS[key]
    text = _problem_text(path, raw)
    [line] = problems(tmp_path, text)
    row = next(i for i, source in enumerate(text.splitlines(), 1) if source.rstrip().endswith(f": {raw}"))
    column = text.splitlines()[row - 1].index(raw) + 1
    assert re.match(rf"w\.yaml:{row}:{column}: {_last(key)}: ", line), line
    assert re.search(r"finite|at most 31622400|negative|greater than or equal to 0|greater than 0", line), line


@pytest.mark.parametrize("raw", BAD)
def test_an_absurd_run_timeout_is_refused_at_its_position(tmp_path: Path, raw: str) -> None:
    text = _workflow({}, {"timeout": "__VALUE__"}).replace("__VALUE__", raw)
    [line] = problems(tmp_path, text)
    row = next(i for i, source in enumerate(text.splitlines(), 1) if source.rstrip().endswith(f": {raw}"))
    assert line.startswith(f"w.yaml:{row}:12: timeout: "), line


@pytest.mark.parametrize("raw", [".inf", "1e300", "101"])
def test_an_absurd_backoff_coefficient_is_refused(tmp_path: Path, raw: str) -> None:
    text = _problem_text(("retry_policy", "backoff_coefficient"), raw)
    [line] = problems(tmp_path, text)
    assert f": backoff_coefficient: Input should be less than or equal to {MAX_BACKOFF:g}" in line


def test_the_longest_durations_allowed_validate(tmp_path: Path) -> None:
    extra = {
        "start_delay": MAX_SECONDS,
        "retry_policy": {"timeout": MAX_SECONDS, "initial_interval": MAX_SECONDS, "maximum_interval": MAX_SECONDS,
                         "backoff_coefficient": MAX_BACKOFF, "max_attempts": 3},
    }  # fmt: skip
    assert problems(tmp_path, _workflow(extra, {"timeout": MAX_SECONDS})) == []


@FUZZ
@given(key=st.sampled_from([*ACTION_KEYS, "config.timeout"]), value=DURATIONS)
def test_any_duration_validates_exactly_when_finite_and_within_a_year(
    tmp_path_factory: pytest.TempPathFactory, key: str, value: float
) -> None:
    folder = tmp_path_factory.mktemp("d")
    if key == "config.timeout":
        text, zero = _workflow({}, {"timeout": value}), False
    else:
        path, zero = ACTION_KEYS[key]
        text = _workflow(_nest(path, value))
    found = problems(folder, text)
    assert (found == []) is _allowed(float(value), zero), found
    for line in found:
        assert re.match(rf"w\.yaml:\d+:\d+: {_last(key)}: ", line), line


@FUZZ
@given(key=st.sampled_from(["group_wait", "group_interval"]), value=DURATIONS)
def test_routing_group_windows_are_finite_and_within_a_year(key: str, value: float) -> None:
    route = {"name": "r", "workflow": "w", "group_by": ["team"], key: value}
    text = yaml.safe_dump({"routes": [route]})
    allowed = _allowed(float(value), zero=key == "group_wait")
    try:
        parse_routing(text, Path("routing.yaml"))
    except RoutingFileError as error:
        assert not allowed, error.lines
        [line] = error.lines
        assert re.match(rf"routing\.yaml:\d+:\d+: routes\.0\.{key}: ", line), line
        return
    assert allowed
