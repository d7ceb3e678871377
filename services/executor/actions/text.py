"""``core.text.*``: actions that read text, such as pulling every URL out of an alert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from services.executor.actions.registry import action

#: Most characters one call scans, over all its strings. The scan is linear, so this bounds the work per call;
#: Temporal's 2 MB payload limit keeps real inputs below it anyway.
MAX_TEXT_CHARS = 2 * 1024 * 1024

# A URL runs until whitespace, a quote, an angle bracket or a backslash; a backslash is let through only as
# part of a JSON escape (``\u0026``, ``\/``), so URLs in raw, undecoded JSON text are found whole too.
_URL = re.compile(r"https?:(?://|\\/\\/)(?:[^\s<>\"'`\\]|\\u[0-9a-fA-F]{4}|\\/)+", re.IGNORECASE)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\/")
_ENDS_URL = re.compile(r"[\s<>\"'`\\]")
# Punctuation that ends a sentence or closes a quote rather than belonging to the URL.
_TRAILING = ".,;:!?'\")]}>"
_PAIRS = {")": "(", "]": "[", "}": "{"}


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


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16)) if match.group(1) else "/"


def _end_without_trailing(url: str) -> int:
    """Where ``url`` ends once trailing punctuation is dropped, keeping a closing bracket that balances one
    inside it (https://en.wikipedia.org/wiki/A_(b)).

    One pass over the trailing run with bracket counts taken once: re-counting or re-slicing the URL for each
    dropped character made ``http://a))))...`` quadratic (100k characters took 8.5 s, 1M would take minutes).
    """
    end, run_start = len(url), len(url.rstrip(_TRAILING))
    # How many closers of each kind lack an opener in url[:end]; dropping a closer lowers its count.
    unbalanced = {closer: url.count(closer) - url.count(opener) for closer, opener in _PAIRS.items()}
    while end > run_start:
        closer = url[end - 1]
        if closer in unbalanced:
            if unbalanced[closer] <= 0:
                break
            unbalanced[closer] -= 1
        end -= 1
    return end


def _clean(raw: str) -> str:
    url = _JSON_ESCAPE.sub(_unescape, raw)
    end = _ENDS_URL.search(url)  # an escape may have decoded to a character that ends the URL
    url = url[: end.start()] if end else url
    return url[: _end_without_trailing(url)]


def find_urls(text: str) -> list[str]:
    """Every http(s) URL in ``text``, in order, with JSON escapes decoded and trailing punctuation removed."""
    found = (_clean(match.group(0)) for match in _URL.finditer(text))
    return [url for url in found if "://" in url and url.split("://", 1)[1]]


@action("core.text.extract_urls", pure=True)
def extract_urls(args: ExtractUrlsArgs) -> list[str]:
    """URLs from every string in ``texts``, in first-seen order (each once unless ``unique`` is false)."""
    urls = [url for text in _strings(args.texts) for url in find_urls(text)]
    return list(dict.fromkeys(urls)) if args.unique else urls
