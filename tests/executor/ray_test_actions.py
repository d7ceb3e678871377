"""Test-only actions that must run inside Ray workers: one that never yields, one with a huge result.

The session's Ray imports this module in every worker it starts (``worker_process_setup_hook`` in conftest),
so the registry there knows these names, as it knows the built-in ``core.*`` ones.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from pydantic import BaseModel

from services.executor.actions import action


class SpinArgs(BaseModel):
    #: File the worker's process id is appended to, so a test can check the process is gone afterwards.
    pid_file: str


class BigArgs(BaseModel):
    size: int


class SleepArgs(BaseModel):
    seconds: float


@action("tests.spin_forever")
def spin_forever(args: SpinArgs) -> None:
    """Busy-loop forever without yielding: only killing the worker process stops it."""
    with Path(args.pid_file).open("a") as out:
        out.write(f"{os.getpid()}\n")
    while True:
        pass


@action("tests.big_result")
def big_result(args: BigArgs) -> str:
    """A result of ``size`` characters from a tiny input (too big for Temporal's payload limit when large)."""
    return "x" * args.size


def register() -> None:
    """Ray's worker setup hook: importing this module has registered the actions above."""


@action("tests.sleep")
def sleep(args: SleepArgs) -> float:
    """Take ``seconds`` (longer than a heartbeat timeout), then return them."""
    time.sleep(args.seconds)
    return args.seconds


class QuoteArgs(BaseModel):
    value: str


@action("tests.raise_quoting")
def raise_quoting(args: QuoteArgs) -> None:
    """Fail with the input inside the message, as many libraries' errors do (a secret would leak through it)."""
    raise ValueError(f"upstream refused token={args.value}!")


class LogLineArgs(BaseModel):
    message: str
    correlation_id: str


@action("tests.log_line")
def log_line(args: LogLineArgs) -> dict[str, object]:
    """What this Ray worker's log set-up makes of a line logged under ``correlation_id``: the root handlers' names
    and the line our handler formats (its filter reads the context the action runs in)."""
    from opentelemetry import baggage, context

    from services.shared import logs

    root = logging.getLogger()
    [ours] = [handler for handler in root.handlers if handler.get_name() == "alertmesh-executor"]
    token = context.attach(baggage.set_baggage(logs.CORRELATION_BAGGAGE, args.correlation_id))
    try:
        record = logging.LogRecord("tests.ray", logging.INFO, __file__, 0, args.message, (), None)
        ours.filter(record)
        line = ours.format(record)
    finally:
        context.detach(token)
    quiet = {name: logging.getLogger(name).getEffectiveLevel() for name in ("httpx", "httpcore", "urllib3", "aiokafka")}
    return {
        "handlers": [handler.get_name() for handler in root.handlers],
        "line": line,
        "level": root.level,
        "quiet": quiet,
    }


class LogQuotingArgs(BaseModel):
    value: str


@action("tests.log_quoting")
def log_quoting(args: LogQuotingArgs) -> None:
    """Print the value and log it as libraries do (plain, repr, in a URL, in a JSON body, in an exception's
    traceback), then fail quoting it: the step's masking must cover the worker's output, log lines and message."""
    import sys
    from urllib.parse import quote

    print(f"debug: token={args.value}")  # an action printing what it got: the worker's .out file
    print(f"debug: {args.value!r}", file=sys.stderr)
    log = logging.getLogger("tests.ray.quoting")
    log.info("calling https://api.example/v1?key=%s", quote(args.value, safe=""))
    log.warning("sending %r in %s", args.value, {"body": args.value})
    try:
        raise RuntimeError(f"refused {args.value!r}")
    except RuntimeError:
        log.exception("the call failed")
    raise ValueError(f"upstream refused token={args.value!r}")
