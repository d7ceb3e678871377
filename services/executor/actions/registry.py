"""The action registry: names such as ``core.text.extract_urls`` mapped to plain importable functions.

Every action takes exactly one argument, a pydantic model of its arguments, so a workflow's raw ``args``
dict is validated at the edge and a bad call fails with a message naming the action and the offending fields.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ActionFunc = Callable[[Any], Any]
F = TypeVar("F", bound=ActionFunc)


class UnknownAction(LookupError):
    """No action is registered under the requested name."""


class InvalidArguments(ValueError):
    """The arguments given to an action do not match its arguments model."""


@dataclass(frozen=True)
class ActionSpec:
    """One registered action: its name, its function, and the model its arguments must match."""

    name: str
    func: ActionFunc
    args_model: type[BaseModel]
    #: No side effects and the same result for the same args: a dependent may run in the same batch before this
    #: action's result is recorded, since running it again after a crash repeats nothing observable.
    pure: bool = False

    @property
    def is_async(self) -> bool:
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


def action(name: str, *, pure: bool = False) -> Callable[[F], F]:
    """Register the decorated function as the action ``name``; its one parameter's type is its args model.

    Declare ``pure=True`` only for an action with no side effects (no I/O, no clock, no randomness) whose
    result depends on its args alone.
    """

    def register(func: F) -> F:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"action {name!r} is already registered by {_REGISTRY[name].func.__qualname__}")
        _REGISTRY[name] = ActionSpec(name=name, func=func, args_model=_args_model_of(func), pure=pure)
        return func

    return register


def get_action(name: str) -> ActionSpec:
    """The action registered as ``name``; UnknownAction if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownAction(f"no action named {name!r}; known actions: {', '.join(sorted(_REGISTRY))}") from None


def is_pure(name: str) -> bool:
    """Whether ``name`` is a registered pure action (an unknown name is not)."""
    spec = _REGISTRY.get(name)
    return spec is not None and spec.pure


def action_names() -> list[str]:
    """Every registered action name, sorted."""
    return sorted(_REGISTRY)
