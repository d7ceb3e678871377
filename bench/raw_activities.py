"""The raw design's activities: the same action functions the mesh's executor runs (``core.text.extract_urls``,
``core.transform.reshape``), called directly in the activity worker, without Ray."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from services.executor.actions.registry import get_action

EXTRACT_URLS_ACTION = "core.text.extract_urls"
RESHAPE_ACTION = "core.transform.reshape"


def _run(name: str, args: dict[str, Any]) -> Any:
    spec = get_action(name)
    return spec.func(spec.parse_args(args))


@activity.defn(name="bench.extract_urls")
async def extract_urls(texts: list[Any]) -> list[str]:
    """``core.text.extract_urls`` over ``texts``, in the worker's process: the URLs found."""
    urls: list[str] = _run(EXTRACT_URLS_ACTION, {"texts": texts})
    return urls


@activity.defn(name="bench.reshape")
async def reshape(value: dict[str, Any]) -> Any:
    """``core.transform.reshape`` of ``value``, in the worker's process."""
    return _run(RESHAPE_ACTION, {"value": value})
