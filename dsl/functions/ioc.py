"""Indicator (IOC) extraction from text: URLs, domains, IP addresses, e-mail addresses and hashes.

Every pattern runs in linear time: candidates are maximal runs of allowed characters (anchored with a look-behind
so a run is scanned once, not from each of its positions), then checked on their own with bounded effort. Each
function takes a string or any JSON value whose strings are scanned, and returns unique values in first-seen order.
URLs: JSON escapes decoded, trailing punctuation dropped unless it closes a bracket inside the URL. The executor's
``core.text.extract_urls`` action uses ``find_urls`` too, so both find the same URLs.

These patterns stay Python ``re``, unlike user patterns (``dsl.patterns``, RE2): they are fixed, written here, and
linear by construction as said above (RE2 has no look-behind, which the run anchoring needs).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from dsl.functions.args import fail
from dsl.functions.limits import MAX_ITEMS, MAX_TEXT
from dsl.functions.registry import function

# A URL runs until whitespace, a quote, an angle bracket or a backslash; a backslash is let through only as part of
# a JSON escape (``\u0026``, ``\/``), so URLs in raw, undecoded JSON text are found whole too.
_URL = re.compile(r"https?:(?://|\\/\\/)(?:[^\s<>\"'`\\]|\\u[0-9a-fA-F]{4}|\\/)+", re.IGNORECASE)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\/")
_ENDS_URL = re.compile(r"[\s<>\"'`\\]")
# Punctuation that ends a sentence or closes a quote rather than belonging to the URL.
_TRAILING = ".,;:!?'\")]}>"
_PAIRS = {")": "(", "]": "[", "}": "{"}

_DOMAIN_RUN = re.compile(r"(?<![A-Za-z0-9.-])[A-Za-z0-9.-]+")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]")
_IPV4_RUN = re.compile(r"(?<![0-9.])[0-9.]+")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# Not next to other word characters, so "std::dec" or "a::b" in code are not taken for addresses.
_IPV6_RUN = re.compile(r"(?<![0-9A-Za-z_:.])[0-9A-Fa-f:.]+(?![0-9A-Za-z_:])")
_EMAIL_RUN = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}")
_CVE = re.compile(r"(?<![A-Za-z0-9])CVE-(\d{4})-(\d{4,7})(?![0-9])", re.IGNORECASE)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)


def _texts(name: str, value: Any) -> list[str]:
    texts = list(_strings(value))
    if sum(len(text) for text in texts) > MAX_TEXT:
        raise fail(name, f"the texts hold more than {MAX_TEXT} characters")
    return texts


def _extract(name: str, value: Any, find: Callable[[str], Iterable[str]]) -> list[str]:
    found: dict[str, None] = {}
    for text in _texts(name, value):
        for item in find(text):
            found.setdefault(item)
            if len(found) > MAX_ITEMS:
                raise fail(name, f"more than {MAX_ITEMS} distinct values")
    return list(found)


# -- URLs (the executor's core.text.extract_urls rules) ------------------------------------------------------------
def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16)) if match.group(1) else "/"


def _end_without_trailing(url: str) -> int:
    """Where ``url`` ends once trailing punctuation is dropped, keeping a closing bracket that balances one
    inside it (https://en.wikipedia.org/wiki/A_(b)).

    One pass over the trailing run with bracket counts taken once: re-counting or re-slicing the URL for each
    dropped character made ``http://a))))...`` quadratic (100k characters took 8.5 s, 1M would take minutes).
    """
    end, run_start = len(url), len(url.rstrip(_TRAILING))
    unbalanced = {closer: url.count(closer) - url.count(opener) for closer, opener in _PAIRS.items()}
    while end > run_start:
        closer = url[end - 1]
        if closer in unbalanced:
            if unbalanced[closer] <= 0:
                break
            unbalanced[closer] -= 1
        end -= 1
    return end


def find_urls(text: str) -> list[str]:
    """Every http(s) URL in ``text``, in order, with JSON escapes decoded and trailing punctuation removed."""
    urls = []
    for match in _URL.finditer(text):
        url = _JSON_ESCAPE.sub(_unescape, match.group(0))
        stop = _ENDS_URL.search(url)  # an escape may have decoded to a character that ends the URL
        url = url[: stop.start()] if stop else url
        url = url[: _end_without_trailing(url)]
        if "://" in url and url.split("://", 1)[1]:
            urls.append(url)
    return urls


def _domains(text: str) -> Iterator[str]:
    for run in _DOMAIN_RUN.finditer(text):
        candidate = run.group().strip(".-")
        if len(candidate) <= 253 and _DOMAIN.fullmatch(candidate):
            yield candidate.lower()


def _ipv4(text: str) -> Iterator[str]:
    for run in _IPV4_RUN.finditer(text):
        candidate = run.group().strip(".")
        if len(candidate) <= 15 and _IPV4.fullmatch(candidate):
            try:
                yield str(ipaddress.IPv4Address(candidate))
            except ValueError:
                continue


def _ipv6(text: str) -> Iterator[str]:
    for run in _IPV6_RUN.finditer(text):
        candidate = run.group().strip(".")
        if candidate.count(":") >= 2 and len(candidate) <= 45 and candidate.strip(":"):
            try:
                yield str(ipaddress.IPv6Address(candidate))
            except ValueError:
                continue


def _emails(text: str) -> Iterator[str]:
    for run in _EMAIL_RUN.finditer(text):
        local, _, domain = run.group().partition("@")
        domain = domain.strip(".-")
        if _EMAIL_LOCAL.fullmatch(local) and len(domain) <= 253 and _DOMAIN.fullmatch(domain):
            yield f"{local}@{domain.lower()}"


def _hashes(length: int) -> Callable[[str], Iterator[str]]:
    pattern = re.compile(rf"(?<![0-9A-Fa-f])[0-9A-Fa-f]{{{length}}}(?![0-9A-Fa-f])")
    return lambda text: (match.group().lower() for match in pattern.finditer(text))


@function("extract_urls")
def extract_urls(value: Any) -> list[str]:
    """Every http(s) URL in a string (or in every string of a JSON value), unique, in first-seen order."""
    return _extract("extract_urls", value, find_urls)


@function("extract_domains")
def extract_domains(value: Any) -> list[str]:
    """Every domain name (lower-cased) in the text, including those inside URLs and e-mail addresses. File
    names such as "report.pdf" look like domains too; filter them if that matters."""
    return _extract("extract_domains", value, _domains)


@function("extract_ipv4")
def extract_ipv4(value: Any) -> list[str]:
    """Every IPv4 address in the text (dotted quads with each part 0-255)."""
    return _extract("extract_ipv4", value, _ipv4)


@function("extract_ipv6")
def extract_ipv6(value: Any) -> list[str]:
    """Every IPv6 address in the text, in compressed form."""
    return _extract("extract_ipv6", value, _ipv6)


@function("extract_emails")
def extract_emails(value: Any) -> list[str]:
    """Every e-mail address in the text (the domain lower-cased)."""
    return _extract("extract_emails", value, _emails)


@function("extract_md5")
def extract_md5(value: Any) -> list[str]:
    """Every MD5 hash (32 hex digits standing alone) in the text, lower-cased."""
    return _extract("extract_md5", value, _hashes(32))


@function("extract_sha1")
def extract_sha1(value: Any) -> list[str]:
    """Every SHA-1 hash (40 hex digits standing alone) in the text, lower-cased."""
    return _extract("extract_sha1", value, _hashes(40))


@function("extract_sha256")
def extract_sha256(value: Any) -> list[str]:
    """Every SHA-256 hash (64 hex digits standing alone) in the text, lower-cased."""
    return _extract("extract_sha256", value, _hashes(64))


def _cves(text: str) -> Iterator[str]:
    return (f"CVE-{match.group(1)}-{match.group(2)}" for match in _CVE.finditer(text))


@function("extract_cves")
def extract_cves(value: Any) -> list[str]:
    """Every CVE id (``CVE-2024-3094``, any case, upper-cased) in the text."""
    return _extract("extract_cves", value, _cves)
