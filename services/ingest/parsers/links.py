"""The links an alert carries (``Alert.urls``): only absolute http(s) URLs a person can safely click.

A link goes to chat messages, tickets and workflow actions, so what a sender puts there must not become a
``javascript:`` or ``data:`` link, a local file, or a URL that hides a password or its real host. Links are
dropped, not refused: a bad link is no reason to lose the alert (the sender's own value stays in ``payload``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

_SCHEMES = ("http", "https")
# A host as URLs write it: a name (IDNs included), an IPv4 address, or an IPv6 address in brackets.
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"[^\s/\\?#@:\[\]]+|\[[0-9A-Fa-f:.]+\]")
#: Links remembered with their answer (``safe_url``). A sender repeats the same few: its external URL on every
#: alert, a rule's generator URL on every alert of the rule. Only links of up to ``CACHED_LINK_CHARS`` characters
#: (with their base) are kept, so the cache holds at most a few MB whatever senders put in their links.
CACHED_LINKS = 4096
CACHED_LINK_CHARS = 1024


def gather_urls(*, base: str | None = None, **links: Any) -> dict[str, str]:
    """The named links that are usable URLs (``safe_url``), in argument order; a relative link is joined to
    ``base`` (e.g. the sender's external URL) when given. A link cannot be named ``base``: use ``gather_url_map``
    for names that come from configuration."""
    return gather_url_map(links, base=base)


def gather_url_map(links: Mapping[str, Any], base: str | None = None) -> dict[str, str]:
    """``gather_urls`` for links whose names are data (a field map's ``urls``)."""
    # Absent links (None, "") are the common case: ruled out before any parsing, on the hot path.
    kept: dict[str, str] = {}
    for name, link in links.items():
        if link and isinstance(link, str):
            url = safe_url(link, base)
            if url is not None:
                kept[name] = url
    return kept


def safe_url(link: str, base: str | None = None) -> str | None:
    """``link`` as an absolute http(s) URL with a host, or None when it cannot be one.

    Surrounding whitespace is trimmed; a link with control or format characters inside (newlines, NUL, bidi
    overrides that disguise where it goes) is dropped, and so is any other scheme (``javascript:``, ``data:``,
    ``file:``, ``mailto:``). A relative link (``/alerting/...``, ``view?id=1``, ``//host/x``) is joined to ``base``
    when ``base`` is itself a usable URL, treating ``base`` as a directory (``https://h/grafana`` and
    ``https://h/grafana/`` both give ``https://h/grafana/view?id=1``; a link starting with ``/`` keeps only the
    base's scheme and host, as a browser does); without one it is dropped. Credentials (``user:pass@``) are
    removed, so what is shown is the real host and no secret is passed on; inner spaces become ``%20``.

    A pure function of its arguments, so its answers are cached (``CACHED_LINKS``): splitting and joining a URL cost
    about a tenth of reading an Alertmanager alert (``python -m bench.pipeline_micro --steps``)."""
    if len(link) + len(base or "") <= CACHED_LINK_CHARS:
        return _cached_safe_url(link, base)
    return _safe_url(link, base)


@functools.lru_cache(maxsize=CACHED_LINKS)
def _cached_safe_url(link: str, base: str | None) -> str | None:
    return _safe_url(link, base)


def _safe_url(link: str, base: str | None) -> str | None:
    text = link.strip()
    if not text or _has_control(text):
        return None
    text = text.replace(" ", "%20")
    parts = _split(text)
    if parts is None:
        return None
    if not parts.scheme:
        absolute_base = safe_url(base) if base else None
        if absolute_base is None:
            return None
        directory = absolute_base if absolute_base.endswith("/") else absolute_base + "/"
        parts = _split(urljoin(directory, text))
        if parts is None:
            return None
    return _absolute(parts)


def _has_control(text: str) -> bool:
    # Most links are ASCII: one regex scan; the Unicode categories (format, private, unassigned) only otherwise.
    if text.isascii():
        return _ASCII_CONTROL.search(text) is not None
    return any(unicodedata.category(char)[0] == "C" for char in text)


def _split(text: str) -> SplitResult | None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    return parts


def _absolute(parts: SplitResult) -> str | None:
    if parts.scheme.lower() not in _SCHEMES or "\\" in parts.netloc:
        return None
    host_and_port = parts.netloc.rpartition("@")[2]
    host = host_and_port.rsplit(":", 1)[0] if not host_and_port.endswith("]") else host_and_port
    if not _HOST.fullmatch(host):
        return None
    return urlunsplit((parts.scheme.lower(), host_and_port, parts.path, parts.query, parts.fragment))
