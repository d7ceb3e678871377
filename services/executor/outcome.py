"""Run one action in the current process and capture how it went as a small, picklable Outcome.

This is the body of the Ray task (``ray_runner``), kept free of Ray so it can be tested and reasoned about
alone: every exception the action raises (bad args, unknown name, the action's own errors, a result JSON
cannot carry) becomes a failed Outcome, so only Ray's own infrastructure failures ever escape the task.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from services.executor.actions import get_action

#: The executor's setting, read here as well: a Ray worker is a process of its own and must import them itself.
ACTION_MODULES_ENV = "EXECUTOR_ACTION_MODULES"


def import_action_modules(names: Iterable[str]) -> None:
    """Import modules whose ``@action`` functions register extra actions (a no-op once imported)."""
    for name in names:
        importlib.import_module(name)


def _configured_action_modules() -> list[str]:
    return [name.strip() for name in os.environ.get(ACTION_MODULES_ENV, "").split(",") if name.strip()]


class NonSerializableResult(TypeError):
    """The action returned something JSON cannot represent (results travel through Temporal and Kafka)."""


@dataclass(frozen=True)
class Outcome:
    """What one action run produced: a JSON value, or the type and message of the error it raised."""

    ok: bool
    value: Any = None
    error_type: str | None = None
    error_message: str | None = None

    @classmethod
    def failure(cls, exc: BaseException) -> Outcome:
        return cls(ok=False, error_type=type(exc).__name__, error_message=str(exc) or repr(exc))


def to_json_value(name: str, value: Any) -> Any:
    """``value`` as JSON carries it (tuples become lists); NonSerializableResult if JSON cannot carry it."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise NonSerializableResult(f"result of {name} is not JSON-serializable: {exc}") from None


def run_captured(name: str, raw_args: Mapping[str, Any]) -> Outcome:
    """Look up ``name``, validate ``raw_args``, run the action (async ones in a new event loop), capture."""
    try:
        import_action_modules(_configured_action_modules())
        spec = get_action(name)
        args = spec.parse_args(raw_args)
        value = asyncio.run(spec.func(args)) if spec.is_async else spec.func(args)
        return Outcome(ok=True, value=to_json_value(name, value))
    except Exception as exc:
        return Outcome.failure(exc)
