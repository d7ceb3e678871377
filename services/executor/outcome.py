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
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from services.executor.actions import get_action
from services.executor.actions.context import using_kafka
from services.executor.masking import mask_text, masking_step
from services.shared import logs
from services.shared.egress import EgressPolicy, using_policy

#: Default for EXECUTOR_MAX_RESULT_BYTES. Temporal refuses payloads over 2 MB (and warns above 512 KB); a result
#: over the limit becomes a failed report instead of an activity that fails on its payload and retries forever.
DEFAULT_MAX_RESULT_BYTES = 1024 * 1024
#: Error messages travel in the report too; an exception quoting a huge input must not blow the payload. A message
#: is cut only after its secrets are masked: a cut through a secret would leave a start of it no masker recognizes.
MAX_ERROR_MESSAGE_CHARS = 4096

#: The executor's setting, read here as well: a Ray worker is a process of its own and must import them itself.
ACTION_MODULES_ENV = "EXECUTOR_ACTION_MODULES"


def import_action_modules(names: Iterable[str]) -> None:
    """Import modules whose ``@action`` functions register extra actions (a no-op once imported)."""
    for name in names:
        importlib.import_module(name)


def configured_action_modules() -> list[str]:
    """The modules EXECUTOR_ACTION_MODULES names (comma-separated)."""
    return [name.strip() for name in os.environ.get(ACTION_MODULES_ENV, "").split(",") if name.strip()]


class NonSerializableResult(TypeError):
    """The action returned something JSON cannot represent (results travel through Temporal and Kafka)."""


class ResultTooLarge(ValueError):
    """The action's result, as JSON, is larger than EXECUTOR_MAX_RESULT_BYTES."""


@dataclass(frozen=True)
class ActionLimits:
    """What every action run is held to; the executor's settings decide, and they travel with each Ray task
    (a Ray worker on another node does not see the executor's environment)."""

    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    #: Producer options of the broker ``core.kafka.publish`` writes to (``actions.context.producer_config``);
    #: None: the KAFKA_* variables of the process running the action.
    kafka: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    """What one action run produced: a JSON value, or the type and message of the error it raised."""

    ok: bool
    value: Any = None
    error_type: str | None = None
    error_message: str | None = None
    #: Bytes of ``value`` as compact JSON, measured where it was encoded: the executor decides from it whether the
    #: result goes to the blob store without encoding it again.
    size: int = 0

    @classmethod
    def failure(cls, exc: BaseException, secrets: Collection[str] = ()) -> Outcome:
        """The outcome of an action that raised ``exc``: its class name and its message, with ``secrets`` masked,
        then cut past ``MAX_ERROR_MESSAGE_CHARS``."""
        message = mask_text(str(exc) or repr(exc), secrets)
        return cls(ok=False, error_type=type(exc).__name__, error_message=cut_message(message))


def cut_message(message: str, limit: int = MAX_ERROR_MESSAGE_CHARS) -> str:
    """``message`` cut past ``limit`` characters, saying how many were cut (mask it first)."""
    extra = len(message) - limit
    return f"{message[:limit]}... ({extra} more characters)" if extra > 0 else message


def to_json_value(name: str, value: Any, max_bytes: int = DEFAULT_MAX_RESULT_BYTES) -> Any:
    """``value`` as JSON carries it (tuples become lists); NonSerializableResult if JSON cannot carry it,
    ResultTooLarge if its JSON is over ``max_bytes``."""
    return json_value_and_size(name, value, max_bytes)[0]


def json_value_and_size(name: str, value: Any, max_bytes: int = DEFAULT_MAX_RESULT_BYTES) -> tuple[Any, int]:
    """``to_json_value`` and the size in bytes of its compact JSON."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        # Compact UTF-8, as Temporal's pydantic converter writes it, so the size is the payload's size.
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        size = len(encoded.encode())
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError (a lone surrogate) is a ValueError
        raise NonSerializableResult(f"result of {name} is not JSON-serializable: {exc}") from None
    if size > max_bytes:
        raise ResultTooLarge(
            f"result of {name} is {size} bytes as JSON, over the limit of {max_bytes} bytes (EXECUTOR_MAX_RESULT_BYTES)"
        )
    return json.loads(encoded), size


def run_captured(
    name: str, raw_args: Mapping[str, Any], limits: ActionLimits | None = None, secrets: Collection[str] = ()
) -> Outcome:
    """Look up ``name``, validate ``raw_args``, run the action (async ones in a new event loop) under
    ``limits``, capture. ``secrets``: the values the args were rendered with; every log line made meanwhile and
    the error message have them masked (here, in the Ray worker, before the message is cut)."""
    limits = limits or ActionLimits()
    logs.configure_worker("executor")  # a Ray task worker: its log lines carry the alert's trace ids too
    with masking_step(secrets):
        return _run_captured(name, raw_args, limits, secrets)


def _run_captured(name: str, raw_args: Mapping[str, Any], limits: ActionLimits, secrets: Collection[str]) -> Outcome:
    try:
        import_action_modules(configured_action_modules())
        spec = get_action(name)
        args = spec.parse_args(raw_args)
        with using_policy(limits.egress), using_kafka(limits.kafka):
            value = asyncio.run(spec.func(args)) if spec.is_async else spec.func(args)
        json_value, size = json_value_and_size(name, value, limits.max_result_bytes)
        return Outcome(ok=True, value=json_value, size=size)
    except Exception as exc:
        return Outcome.failure(exc, secrets)
