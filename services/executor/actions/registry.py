"""The action registry: names such as ``core.text.extract_urls`` mapped to plain importable functions.

Every action takes exactly one argument, a pydantic model of its arguments, so a workflow's raw ``args``
dict is validated at the edge and a bad call fails with a message naming the action and the offending fields.
The model's field descriptions document the arguments (``describe_actions`` lists them for the validator, the
docs and ``alertmesh actions``).

Users ship their own actions in a package: they declare modules in the ``alertmesh.actions`` entry-point group
(``[project.entry-points."alertmesh.actions"] mycompany = "mycompany.actions"``). The registry imports them the
first time it is asked anything, in the executor and in each Ray worker alike, so an installed package's actions
are available everywhere without configuration.
"""

from __future__ import annotations

import inspect
import threading
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ActionFunc = Callable[[Any], Any]
F = TypeVar("F", bound=ActionFunc)


class UnknownAction(LookupError):
    """No action is registered under the requested name."""


class InvalidArguments(ValueError):
    """The arguments given to an action do not match its arguments model."""


class ActionPluginError(ImportError):
    """A module declared in the ``alertmesh.actions`` entry-point group could not be imported."""


#: The entry-point group packages declare their action modules in.
ENTRY_POINT_GROUP = "alertmesh.actions"


@dataclass(frozen=True)
class ActionSpec:
    """One registered action: its name, its function, and the model its arguments must match."""

    name: str
    func: ActionFunc
    args_model: type[BaseModel]
    #: What the action does, for people choosing one (the decorator's ``description``, else the docstring).
    description: str = ""
    #: No side effects and the same result for the same args: a dependent may run in the same batch before this
    #: action's result is recorded, since running it again after a crash repeats nothing observable.
    pure: bool = False

    @property
    def is_async(self) -> bool:
        """Whether the function is a coroutine function (the Ray task runs it in an event loop of its own)."""
        return inspect.iscoroutinefunction(self.func)

    def parse_args(self, raw: Mapping[str, Any]) -> BaseModel:
        """Validate ``raw`` against the arguments model; raise InvalidArguments listing every problem."""
        try:
            return self.args_model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or '(args)'}: {error['msg']}" for error in exc.errors()
            )
            raise InvalidArguments(f"invalid arguments for {self.name}: {problems}") from None


_REGISTRY: dict[str, ActionSpec] = {}


def _args_model_of(func: ActionFunc) -> type[BaseModel]:
    params = list(inspect.signature(func).parameters)
    hints = typing.get_type_hints(func)
    model = hints.get(params[0]) if len(params) == 1 else None
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        raise TypeError(f"action {func.__qualname__} must take exactly one pydantic-model argument")
    return model


def action(name: str, *, description: str | None = None, pure: bool = False) -> Callable[[F], F]:
    """Register the decorated function as the action ``name``; its one parameter's type is its args model.

    ``description`` says what the action does (default: the docstring's first paragraph). Declare ``pure=True``
    only for an action with no side effects (no I/O, no clock, no randomness) whose result depends on its args
    alone.
    """

    def register(func: F) -> F:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"action {name!r} is already registered by {_REGISTRY[name].func.__qualname__}")
        text = description if description is not None else _first_paragraph(inspect.getdoc(func) or "")
        _REGISTRY[name] = ActionSpec(name=name, func=func, args_model=_args_model_of(func), description=text, pure=pure)
        return func

    return register


def _first_paragraph(doc: str) -> str:
    return " ".join(doc.split("\n\n")[0].split())


_plugins_loaded = False
_plugins_lock = threading.Lock()


def load_plugins() -> None:
    """Import every module declared in the ``alertmesh.actions`` entry-point group (once per process);
    ActionPluginError naming the entry point if one fails to import."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    with _plugins_lock:
        if _plugins_loaded:
            return
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                entry.load()
            except Exception as exc:
                raise ActionPluginError(
                    f"actions entry point {entry.name!r} ({entry.value}) failed to import: {exc}"
                ) from exc
        _plugins_loaded = True


def get_action(name: str) -> ActionSpec:
    """The action registered as ``name``; UnknownAction if there is none."""
    load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownAction(f"no action named {name!r}; known actions: {', '.join(sorted(_REGISTRY))}") from None


def is_pure(name: str) -> bool:
    """Whether ``name`` is a registered pure action (an unknown name is not)."""
    load_plugins()
    spec = _REGISTRY.get(name)
    return spec is not None and spec.pure


def action_names() -> list[str]:
    """Every registered action name, sorted."""
    load_plugins()
    return sorted(_REGISTRY)


def describe_actions() -> list[dict[str, Any]]:
    """Every registered action as ``{name, description, pure, args}`` (``args``: the JSON Schema of its
    arguments, field descriptions included), sorted by name: for the validator, the docs and the CLI."""
    return [
        {
            "name": spec.name,
            "description": spec.description,
            "pure": spec.pure,
            "args": spec.args_model.model_json_schema(by_alias=True),
        }
        for spec in (_REGISTRY[name] for name in action_names())
    ]
