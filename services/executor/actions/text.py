"""``core.text.*``: actions that read text, such as pulling every URL out of an alert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.executor.actions.registry import action

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


def _clean(raw: str) -> str:
    url = _JSON_ESCAPE.sub(_unescape, raw)
    end = _ENDS_URL.search(url)  # an escape may have decoded to a character that ends the URL
    url = url[: end.start()] if end else url
    while url and url[-1] in _TRAILING:
        closer = url[-1]
        # Keep a closing bracket that balances one inside the URL, e.g. https://en.wikipedia.org/wiki/A_(b)
        if closer in _PAIRS and url.count(_PAIRS[closer]) >= url.count(closer):
            break
        url = url[:-1]
    return url


def find_urls(text: str) -> list[str]:
    """Every http(s) URL in ``text``, in order, with JSON escapes decoded and trailing punctuation removed."""
    found = (_clean(match.group(0)) for match in _URL.finditer(text))
    return [url for url in found if "://" in url and url.split("://", 1)[1]]


@action("core.text.extract_urls")
def extract_urls(args: ExtractUrlsArgs) -> list[str]:
    """URLs from every string in ``texts``, in first-seen order (each once unless ``unique`` is false)."""
    urls = [url for text in _strings(args.texts) for url in find_urls(text)]
    return list(dict.fromkeys(urls)) if args.unique else urls
