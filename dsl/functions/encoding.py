"""Hashing and encoding functions. Text is encoded as UTF-8 before hashing or encoding."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from dsl.functions.args import fail, text
from dsl.functions.limits import check_size
from dsl.functions.registry import function
from dsl.values import as_text

#: RFC 3986 unreserved characters: never percent-encoded.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@function("sha256")
def sha256(value: Any) -> str:
    """The SHA-256 of a string, as lower-case hex."""
    return hashlib.sha256(text("sha256", value).encode()).hexdigest()


@function("sha1")
def sha1(value: Any) -> str:
    """The SHA-1 of a string, as lower-case hex (for matching indicators, not for security)."""
    return hashlib.sha1(text("sha1", value).encode(), usedforsecurity=False).hexdigest()


@function("md5")
def md5(value: Any) -> str:
    """The MD5 of a string, as lower-case hex (for matching indicators, not for security)."""
    return hashlib.md5(text("md5", value).encode(), usedforsecurity=False).hexdigest()


@function("b64encode")
def b64encode(value: Any) -> str:
    """A string in standard base64."""
    return base64.b64encode(text("b64encode", value).encode()).decode("ascii")


@function("b64decode")
def b64decode(value: Any) -> str:
    """The text a base64 string encodes (standard or URL-safe alphabet; padding optional); it must be UTF-8."""
    source = text("b64decode", value).strip().replace("-", "+").replace("_", "/")
    try:
        decoded = base64.b64decode(source + "=" * (-len(source) % 4), validate=True)
    except binascii.Error as error:
        raise fail("b64decode", f"invalid base64: {error}") from None
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("b64decode", "the decoded bytes are not UTF-8 text") from None


def _quote(value: str) -> str:
    # Written here rather than taken from urllib.parse: the determinism lint refuses urllib (it holds HTTP clients).
    return "".join(chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in value.encode())


@function("urlencode")
def urlencode(value: Any) -> str:
    """A string percent-encoded for a URL (everything but letters, digits and ``-._~``), or an object as a
    query string ``a=1&b=x%20y`` (values written as in interpolation)."""
    if isinstance(value, Mapping):
        pairs = (f"{_quote(str(key))}={_quote(as_text(item))}" for key, item in value.items())
        return check_size("FN.urlencode", "&".join(pairs))
    return check_size("FN.urlencode", _quote(text("urlencode", value)))


@function("urldecode")
def urldecode(value: Any) -> str:
    """A percent-encoded string decoded (``%20`` and ``+`` become spaces); the bytes must be UTF-8."""
    source = text("urldecode", value).replace("+", " ")
    raw, i = bytearray(), 0
    while i < len(source):
        hex_digits = source[i + 1 : i + 3]
        if source[i] == "%" and len(hex_digits) == 2 and all(c in "0123456789abcdefABCDEF" for c in hex_digits):
            raw.append(int(hex_digits, 16))
            i += 3
        else:
            raw.extend(source[i].encode())
            i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("urldecode", "the decoded bytes are not UTF-8 text") from None


@function("hex")
def hex_(value: Any) -> str:
    """The UTF-8 bytes of a string as lower-case hex."""
    return text("hex", value).encode().hex()
