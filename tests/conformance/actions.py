"""Test-only actions for the conformance suite, loaded by the suite's executor through EXECUTOR_ACTION_MODULES.

They run in Ray workers of another process, so what a test needs to observe afterwards (when each call started
and ended, how many attempts there were) is written to files in a directory the test names in the args.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.executor.actions import action


class PermanentError(Exception):
    """Raised by ``conformance.fail``; conformance cases list it under ``non_retryable``."""


class TransientError(Exception):
    """Raised by ``conformance.flaky`` and ``conformance.fail``; retried unless listed as non-retryable."""


class SleepArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float
    label: str = ""
    value: Any = None


class CallLog(BaseModel):
    #: Directory of the test's call logs; each call appends a line to ``<log_dir>/<key>``.
    log_dir: str
    key: str


class FlakyArgs(CallLog):
    #: Attempts that raise before one succeeds.
    fail_times: int
    value: Any = None


class FailArgs(BaseModel):
    message: str
    kind: str = "TransientError"


class RecordArgs(CallLog):
    value: Any = None


class BigArgs(BaseModel):
    size: int


def _append_call(args: CallLog, entry: dict[str, Any]) -> int:
    """Append ``entry`` to the call log; return how many calls (this one included) it holds."""
    path = Path(args.log_dir) / args.key
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")
    return len(path.read_text(encoding="utf-8").splitlines())


def read_calls(log_dir: Path, key: str) -> list[dict[str, Any]]:
    """The entries a test action appended to ``<log_dir>/<key>``, in call order (none: an empty list)."""
    path = log_dir / key
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@action("conformance.sleep")
def sleep(args: SleepArgs) -> dict[str, Any]:
    """Sleep ``seconds``; the result says when the call started and ended (epoch seconds) and echoes ``value``."""
    start = time.time()
    time.sleep(args.seconds)
    return {"label": args.label, "start": start, "end": time.time(), "value": args.value}


@action("conformance.flaky")
def flaky(args: FlakyArgs) -> dict[str, Any]:
    """Raise TransientError on the first ``fail_times`` calls with this key, then return the call number."""
    calls = _append_call(args, {"at": time.time()})
    if calls <= args.fail_times:
        raise TransientError(f"call {calls} of {args.key} fails on purpose")
    return {"call": calls, "value": args.value}


@action("conformance.count")
def count(args: RecordArgs) -> int:
    """Return how many times it has been called with this key (this call included): retry_until's subject."""
    return _append_call(args, {"at": time.time()})


@action("conformance.record")
def record(args: RecordArgs) -> Any:
    """Append ``value`` to the call log and return it (to count and order calls)."""
    _append_call(args, {"at": time.time(), "value": args.value})
    return args.value


@action("conformance.fail")
def fail(args: FailArgs) -> None:
    """Raise PermanentError or TransientError (``kind``) with ``message``."""
    errors = {"PermanentError": PermanentError, "TransientError": TransientError}
    raise errors[args.kind](args.message)


@action("conformance.big")
def big(args: BigArgs) -> dict[str, Any]:
    """A result of about ``size`` bytes as JSON, with its length alongside."""
    return {"text": "x" * args.size, "size": args.size}
