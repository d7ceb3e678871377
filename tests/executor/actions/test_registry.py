"""The registry: lookup by name, argument validation, and what the decorator accepts."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from services.executor.actions import InvalidArguments, UnknownAction, action, action_names, get_action
from services.executor.actions.http import HttpRequestArgs


def test_builtin_actions_are_registered() -> None:
    assert {"core.transform.reshape", "core.text.extract_urls", "core.http_request"} <= set(action_names())
    assert get_action("core.http_request").args_model is HttpRequestArgs
    assert get_action("core.http_request").is_async
    assert not get_action("core.transform.reshape").is_async


def test_unknown_action_names_the_known_ones() -> None:
    with pytest.raises(UnknownAction, match=r"no action named 'core\.nope'.*core\.text\.extract_urls"):
        get_action("core.nope")


def test_bad_args_list_every_problem_with_the_action_name() -> None:
    spec = get_action("core.http_request")
    with pytest.raises(InvalidArguments) as caught:
        spec.parse_args({"method": "GET", "timeout": 1000, "surprise": 1})
    message = str(caught.value)
    assert message.startswith("invalid arguments for core.http_request: ")
    assert "url: Field required" in message
    assert "timeout: Input should be less than or equal to 300" in message
    assert "surprise: Extra inputs are not permitted" in message


def test_decorator_requires_one_pydantic_argument() -> None:
    with pytest.raises(TypeError, match="exactly one pydantic-model argument"):

        @action("tests.registry.untyped")
        def untyped(args: dict) -> None:  # type: ignore[type-arg]
            pass


def test_decorator_refuses_a_second_function_under_a_taken_name() -> None:
    class Args(BaseModel):
        pass

    with pytest.raises(ValueError, match="already registered"):

        @action("core.transform.reshape")
        def impostor(args: Args) -> None:
            pass
