"""``run_captured``: every way an action can go wrong becomes a failed Outcome with a type and a message."""

from __future__ import annotations

import asyncio
import math

from pydantic import BaseModel

from services.executor.actions import action
from services.executor.outcome import (
    DEFAULT_MAX_RESULT_BYTES,
    MAX_ERROR_MESSAGE_CHARS,
    ActionLimits,
    Outcome,
    run_captured,
)
from services.shared.egress import EgressPolicy


class Numbers(BaseModel):
    a: int
    b: int


class Point(BaseModel):
    x: float
    y: float


@action("tests.outcome.divide")
def divide(args: Numbers) -> float:
    return args.a / args.b


@action("tests.outcome.add_later")
async def add_later(args: Numbers) -> int:
    await asyncio.sleep(0)
    return args.a + args.b


@action("tests.outcome.pair")
def pair(args: Numbers) -> tuple[int, int]:
    return (args.a, args.b)


@action("tests.outcome.point")
def point(args: Numbers) -> Point:
    return Point(x=args.a, y=args.b)


@action("tests.outcome.a_set")
def a_set(args: Numbers) -> set[int]:
    return {args.a}


@action("tests.outcome.nan")
def nan(args: Numbers) -> float:
    return math.nan


def test_sync_action_succeeds() -> None:
    assert run_captured("tests.outcome.divide", {"a": 6, "b": 3}) == Outcome(ok=True, value=2.0, size=3)


def test_async_action_runs_in_its_own_loop() -> None:
    assert run_captured("tests.outcome.add_later", {"a": 1, "b": 2}) == Outcome(ok=True, value=3, size=1)


def test_action_exception_is_captured() -> None:
    outcome = run_captured("tests.outcome.divide", {"a": 1, "b": 0})
    assert outcome == Outcome(ok=False, error_type="ZeroDivisionError", error_message="division by zero")


def test_unknown_action() -> None:
    outcome = run_captured("core.does_not_exist", {})
    assert (outcome.ok, outcome.error_type) == (False, "UnknownAction")
    assert "no action named 'core.does_not_exist'" in (outcome.error_message or "")


def test_bad_args() -> None:
    outcome = run_captured("tests.outcome.divide", {"a": "six"})
    assert (outcome.ok, outcome.error_type) == (False, "InvalidArguments")
    assert outcome.error_message == (
        "invalid arguments for tests.outcome.divide: a: Input should be a valid integer, "
        "unable to parse string as an integer; b: Field required"
    )


def test_results_become_what_json_carries() -> None:
    assert run_captured("tests.outcome.pair", {"a": 1, "b": 2}).value == [1, 2]
    assert run_captured("tests.outcome.point", {"a": 1, "b": 2}).value == {"x": 1.0, "y": 2.0}


def test_non_serializable_result_fails_clearly() -> None:
    outcome = run_captured("tests.outcome.a_set", {"a": 1, "b": 2})
    assert (outcome.ok, outcome.error_type) == (False, "NonSerializableResult")
    assert outcome.error_message == (
        "result of tests.outcome.a_set is not JSON-serializable: Object of type set is not JSON serializable"
    )
    assert run_captured("tests.outcome.nan", {"a": 1, "b": 2}).error_type == "NonSerializableResult"


def test_builtin_action_through_run_captured() -> None:
    outcome = run_captured("core.text.extract_urls", {"texts": ["see https://a.example/x."]})
    assert outcome == Outcome(ok=True, value=["https://a.example/x"], size=23)


class Size(BaseModel):
    size: int


@action("tests.outcome.sized")
def sized(args: Size) -> str:
    return "x" * args.size


@action("tests.outcome.long_error")
def long_error(args: Size) -> None:
    raise ValueError("y" * args.size)


def test_result_over_the_limit_is_a_failed_outcome() -> None:
    limits = ActionLimits(max_result_bytes=1000)
    assert run_captured("tests.outcome.sized", {"size": 998}, limits) == Outcome(ok=True, value="x" * 998, size=1000)
    outcome = run_captured("tests.outcome.sized", {"size": 999}, limits)
    assert outcome == Outcome(
        ok=False,
        error_type="ResultTooLarge",
        error_message="result of tests.outcome.sized is 1001 bytes as JSON, over the limit of 1000 bytes "
        "(EXECUTOR_MAX_RESULT_BYTES)",
    )
    assert run_captured("tests.outcome.sized", {"size": DEFAULT_MAX_RESULT_BYTES}).error_type == "ResultTooLarge"


def test_long_error_messages_are_cut() -> None:
    outcome = run_captured("tests.outcome.long_error", {"size": MAX_ERROR_MESSAGE_CHARS + 10})
    assert outcome.error_message == "y" * MAX_ERROR_MESSAGE_CHARS + "... (10 more characters)"


def test_actions_run_under_the_limits_egress_policy() -> None:
    outcome = run_captured("core.http_request", {"url": "http://127.0.0.1:9/", "timeout": 2})
    assert (outcome.ok, outcome.error_type) == (False, "EgressRefused")
    allowed = ActionLimits(egress=EgressPolicy.parse("127.0.0.1/32"))
    assert run_captured("core.http_request", {"url": "http://127.0.0.1:9/", "timeout": 2}, allowed).error_type == (
        "ConnectError"
    )


def test_result_size_is_counted_as_utf8_json() -> None:
    # "é" is 2 bytes in UTF-8 (6 as an ASCII escape); 499 of them plus quotes is 1000 bytes.
    assert run_captured("tests.outcome.accented", {"size": 499}, ActionLimits(max_result_bytes=1000)).ok
    assert run_captured("tests.outcome.accented", {"size": 500}, ActionLimits(max_result_bytes=1000)).error_type == (
        "ResultTooLarge"
    )


@action("tests.outcome.accented")
def accented(args: Size) -> str:
    return "é" * args.size
