"""Small builders for the conformance cases' definitions (plain dicts, as a user's YAML would load)."""

from __future__ import annotations

from typing import Any


def step(ref: str, action: str, args: dict[str, Any] | None = None, **keys: Any) -> dict[str, Any]:
    """One action statement; ``keys`` are its other keys (depends_on, run_if, retry_policy, ...)."""
    return {"ref": ref, "action": action, "args": args or {}, **keys}


def echo(ref: str, value: Any, **keys: Any) -> dict[str, Any]:
    """``core.transform.reshape`` returning ``value`` (templates rendered)."""
    return step(ref, "core.transform.reshape", {"value": value}, **keys)


def sleep(ref: str, seconds: float | str, value: Any = None, **keys: Any) -> dict[str, Any]:
    """``conformance.sleep``: its result says when it started and ended."""
    return step(ref, "conformance.sleep", {"seconds": seconds, "label": ref, "value": value}, **keys)


def fail(ref: str, message: str = "failed on purpose", kind: str = "PermanentError", **keys: Any) -> dict[str, Any]:
    """``conformance.fail``: raises ``kind`` (PermanentError or TransientError)."""
    return step(ref, "conformance.fail", {"message": message, "kind": kind}, **keys)


def workflow(name: str, actions: list[dict[str, Any]], returns: Any = None, **keys: Any) -> dict[str, Any]:
    """A workflow document."""
    document: dict[str, Any] = {"name": name, "actions": actions, **keys}
    if returns is not None:
        document["returns"] = returns
    return document
