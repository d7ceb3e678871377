"""``core.text.*``: actions that read text, such as pulling every URL out of an alert."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

# One set of URL rules for this action and the expressions' FN.extract_urls.
from dsl.functions.ioc import find_urls
from services.executor.actions.registry import action

__all__ = ["MAX_TEXT_CHARS", "ExtractUrlsArgs", "extract_urls", "find_urls"]

#: Most characters one call scans, over all its strings. The scan is linear, so this bounds the work per call;
#: Temporal's 2 MB payload limit keeps real inputs below it anyway.
MAX_TEXT_CHARS = 2 * 1024 * 1024


class ExtractUrlsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A string, or any JSON value whose strings (in lists and dict values, recursively) are scanned.
    texts: Any
    #: Drop repeats, keeping the first occurrence.
    unique: bool = True

    @model_validator(mode="after")
    def _bounded(self) -> ExtractUrlsArgs:
        size = sum(len(text) for text in _strings(self.texts))
        if size > MAX_TEXT_CHARS:
            raise ValueError(f"texts hold {size} characters; the limit is {MAX_TEXT_CHARS}")
        return self


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


@action("core.text.extract_urls", pure=True)
def extract_urls(args: ExtractUrlsArgs) -> list[str]:
    """URLs from every string in ``texts``, in first-seen order (each once unless ``unique`` is false)."""
    urls = [url for text in _strings(args.texts) for url in find_urls(text)]
    return list(dict.fromkeys(urls)) if args.unique else urls
