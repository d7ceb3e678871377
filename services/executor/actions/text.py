"""``core.text.*``: actions that read text, such as pulling every URL, domain or hash out of an alert.

Every extractor takes ``text`` (one string) or ``texts`` (a string, or any JSON value whose strings, in lists and
dict values recursively, are scanned), and uses the same rules as the expressions' ``FN.extract_*`` functions
(``dsl.functions.ioc``), so an action and an expression find the same indicators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# One set of rules for these actions and the expressions' FN.extract_*.
from dsl.functions import ioc
from dsl.functions.ioc import find_urls
from services.executor.actions.registry import action

__all__ = ["MAX_TEXT_CHARS", "ExtractArgs", "ExtractUrlsArgs", "extract_urls", "find_urls"]

#: Most characters one call scans, over all its strings. The scan is linear, so this bounds the work per call;
#: Temporal's 2 MB payload limit keeps real inputs below it anyway.
MAX_TEXT_CHARS = 2 * 1024 * 1024


class ExtractArgs(BaseModel):
    """Arguments of the ``core.text.extract_*`` actions: either ``text`` or ``texts``, at most ``MAX_TEXT_CHARS``
    characters in all."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="One string to scan.")
    texts: Any = Field(
        None, description="A string, or any JSON value whose strings (in lists and dict values) are scanned."
    )

    @model_validator(mode="after")
    def _one_input(self) -> ExtractArgs:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either text or texts")
        size = sum(len(text) for text in _strings(self.value))
        if size > MAX_TEXT_CHARS:
            raise ValueError(f"the texts hold {size} characters; the limit is {MAX_TEXT_CHARS}")
        return self

    @property
    def value(self) -> Any:
        """What to scan: ``text`` or ``texts``, whichever was given."""
        return self.text if self.text is not None else self.texts


class ExtractUrlsArgs(ExtractArgs):
    """Arguments of ``core.text.extract_urls``: the texts, and whether repeats are dropped."""

    unique: bool = Field(True, description="Drop repeats, keeping the first occurrence.")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


@action("core.text.extract_urls", description="Every http(s) URL in the text, in first-seen order.", pure=True)
def extract_urls(args: ExtractUrlsArgs) -> list[str]:
    """Every http(s) URL in the text, in first-seen order (each once unless ``unique`` is false)."""
    urls = [url for text in _strings(args.value) for url in find_urls(text)]
    return list(dict.fromkeys(urls)) if args.unique else urls


def _extractor(name: str, find: Callable[[Any], list[str]], what: str) -> None:
    def extract(args: ExtractArgs) -> list[str]:
        return find(args.value)

    extract.__doc__ = f"Every {what} in the text, unique, in first-seen order."
    extract.__name__ = extract.__qualname__ = f"extract_{name}"
    action(f"core.text.extract_{name}", pure=True)(extract)


_extractor("domains", ioc.extract_domains, "domain name (lower-cased; also those inside URLs and e-mails)")
_extractor("ipv4", ioc.extract_ipv4, "IPv4 address")
_extractor("ipv6", ioc.extract_ipv6, "IPv6 address (compressed form)")
_extractor("emails", ioc.extract_emails, "e-mail address (domain lower-cased)")


_extractor("cves", ioc.extract_cves, "CVE id (upper-cased)")

HashKind = Literal["md5", "sha1", "sha256"]
ALL_HASH_KINDS: list[HashKind] = ["md5", "sha1", "sha256"]
_HASHES: dict[str, Callable[[Any], list[str]]] = {
    "md5": ioc.extract_md5,
    "sha1": ioc.extract_sha1,
    "sha256": ioc.extract_sha256,
}


class ExtractHashesArgs(ExtractArgs):
    kinds: list[HashKind] = Field(
        default_factory=lambda: list(ALL_HASH_KINDS), description="Which hash kinds to look for."
    )


@action(
    "core.text.extract_hashes",
    description="MD5, SHA-1 and SHA-256 digests in the text, by kind (lower-cased, unique).",
    pure=True,
)
def extract_hashes(args: ExtractHashesArgs) -> dict[str, list[str]]:
    """Hex digests standing alone in the text, by kind: ``{"md5": [...], "sha1": [...], "sha256": [...]}``
    (lower-cased, unique, in first-seen order; told apart by length: 32, 40, 64 hex digits)."""
    return {kind: _HASHES[kind](args.value) for kind in args.kinds}
