"""The registry: lookup by name, argument validation, and what the decorator accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from services.executor.actions import (
    ActionPluginError,
    InvalidArguments,
    UnknownAction,
    action,
    action_names,
    describe_actions,
    get_action,
)
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


@pytest.fixture
def plugins_not_loaded_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh process: another test module may have loaded the entry points (once per process) while
    collection had not yet put tests/executor/plugin_site on the path."""
    from services.executor.actions import registry

    monkeypatch.setattr(registry, "_plugins_loaded", False)


@pytest.mark.usefixtures("plugins_not_loaded_yet")
def test_an_installed_package_s_actions_are_found_through_the_entry_point_group() -> None:
    # tests/executor/plugin_site holds alertmesh-test-plugin's .dist-info (conftest puts it on the path).
    spec = get_action("plugin.shout")
    assert (spec.description, spec.pure, spec.func(spec.parse_args({"text": "hi"}))) == (
        "Upper-case a text, loudly.",
        True,
        "HI!",
    )


@pytest.mark.usefixtures("plugins_not_loaded_yet")
def test_describe_actions_lists_descriptions_and_documented_args() -> None:
    described = {entry["name"]: entry for entry in describe_actions()}
    assert set(described) == set(action_names())
    shout = described["plugin.shout"]
    assert shout["args"]["properties"]["text"]["description"] == "What to shout."
    assert shout["args"]["required"] == ["text"]
    for name, entry in described.items():
        if name.startswith("core."):  # every built-in action says what it does (test-only ones need not)
            assert entry["description"], f"{name} has no description"
            assert all("description" in field for field in entry["args"]["properties"].values()), name


def test_a_broken_plugin_is_reported_by_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from services.executor.actions import registry

    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[alertmesh.actions]\nbroken = no_such_module_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    with pytest.raises(ActionPluginError, match=r"entry point 'broken' \(no_such_module_here\) failed to import"):
        registry.load_plugins()
