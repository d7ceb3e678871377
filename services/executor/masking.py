"""Replace secret values with ``***`` wherever a step's report or a log line would carry them.

An action may echo what it was given (an HTTP service quoting the request, an exception naming its input), so
the result and the error message of a step that read secrets are scrubbed before the report leaves the executor:
to Temporal's history, the heartbeat details, the results topic, the spans and the log. Values are replaced where
they appear inside longer strings too, longest first, so a secret containing another is masked whole.

The exact bytes are not the only form a secret takes on its way: the mesh and the libraries it uses transform it
before anyone masks it. So each secret is found in every form we ourselves produce, alone or mixed:
- percent-encoded, as any URL quoting writes it (``quote``, ``quote_plus``, any set of safe characters, upper or
  lower hex, a space as ``+`` or ``%20``);
- escaped, as JSON (``\\"``, ``\\u00e9``, ``\\/``...) or Python's ``repr`` writes it (``\\n``, ``\\xe9``,
  ``\\'``...), the ``repr`` of its UTF-8 bytes (``\\xc3\\xa9``), and JSON inside JSON (the backslashes doubled);
- base64, standard and URL-safe, padded or not: the whole value's encoding, and the part of the encoding that
  does not depend on what surrounds the secret, so ``base64("user:" + secret)`` (a Basic credential) is caught;
- hex of its UTF-8 bytes (``FN.hex``), either case;
- in any letter case, URL-decoded, base64-decoded (when it is base64 of text), without surrounding whitespace;
- cut: a message cut to a length (``...``, ``…``, or ending there) may end in the first characters of a secret;
  a prefix of at least ``MIN_CUT_PREFIX`` characters at such a cut point is masked.
What no masker can find is an encoding it does not know (a hash, encryption, a custom alphabet): an action that
returns such a transform of a secret must not.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from services.shared import logs

MASK = "***"
#: The shortest start of a secret masked where a message was cut: shorter ones would mask ordinary words.
MIN_CUT_PREFIX = 8
#: The shortest piece of a base64 encoding masked inside a longer base64 text (the secret's bytes, re-aligned).
MIN_BASE64_CORE = 8
#: What marks a cut (our own ``...``, the ellipsis character), or the end of the text: where a prefix is masked.
_CUT = r"(?=\.\.\.|\u2026|['\"]?\s{0,8}$)"

_step_secrets: ContextVar[frozenset[str]] = ContextVar("alertmesh_step_secrets", default=frozenset())

#: One to eight backslashes (bounded: a run of thousands must not make matching quadratic), each as is or
#: percent-encoded.
_BACKSLASHES = r"(?:\\|%(?:25){0,3}5[cC]){1,8}"
_PYTHON_ESCAPES = {"\n": "n", "\r": "r", "\t": "t", "\\": "\\", "'": "'", '"': '"'}
_JSON_ESCAPES = {"\b": "b", "\f": "f", "/": "/"}


def mask_text(text: str, secrets: Collection[str]) -> str:
    """``text`` with every occurrence of each value in ``secrets``, in any of the forms above, replaced by
    ``***``."""
    for secret in _longest_first(secrets):
        text = _masker(secret).mask(text)
    return text


@contextmanager
def masking_step(secrets: Collection[str]) -> Iterator[None]:
    """Run one step's code (in the executor, or the Ray task running its action) with ``secrets``, the values its
    args were rendered with, masked in every log record made meanwhile (``logs.redacting``); ``step_secrets()``
    reads them, so the runner can hand them to the Ray task."""
    values = frozenset(secret for secret in secrets if secret)
    if not values:
        yield
        return
    token = _step_secrets.set(values)
    try:
        with logs.redacting(lambda text: mask_text(text, values)):
            yield
    finally:
        _step_secrets.reset(token)


def step_secrets() -> frozenset[str]:
    """The secrets of the step running in this context (``masking_step``); empty outside one."""
    return _step_secrets.get()


def mask_value(value: Any, secrets: Collection[str]) -> Any:
    """``value`` (any JSON value) with secrets masked in every string, dict keys included; a new value."""
    ordered = _longest_first(secrets)
    if not ordered:
        return value
    return _mask(value, ordered)


def _longest_first(secrets: Iterable[str]) -> list[str]:
    # An empty value would match everywhere and mask nothing useful.
    return sorted({variant for secret in secrets if secret for variant in _variants(secret)}, key=len, reverse=True)


@lru_cache(maxsize=1024)
def _variants(secret: str) -> tuple[str, ...]:
    """``secret`` and what it becomes when decoded or trimmed on its way: URL-decoded (a server reading a secret
    templated raw into a URL, ``FN.urldecode``), base64-decoded when it is base64 of text (``FN.b64decode``), and
    without surrounding whitespace (a file's trailing newline, trimmed by a header parser or ``FN.strip``). Each is
    masked in every form too; one shorter than ``MIN_CUT_PREFIX`` is not (it would mask ordinary words)."""
    found = {secret, unquote(secret), unquote_plus(secret), secret.strip(), _b64_text(secret)}
    return (secret, *sorted(v for v in found - {secret} if v and len(v) >= MIN_CUT_PREFIX))


def _b64_text(secret: str) -> str:
    compact = secret.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        return ""


def _mask(value: Any, ordered: list[str]) -> Any:
    if isinstance(value, str):
        return mask_text(value, ordered)
    if isinstance(value, dict):
        return {mask_text(key, ordered): _mask(item, ordered) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, ordered) for item in value]
    return value


class _Masker:
    """The patterns that find one secret: every encoded form at once, base64 forms, and a prefix at a cut."""

    def __init__(self, secret: str) -> None:
        units = [_char_pattern(char) for char in secret]
        # Any case: an upper- or lower-cased secret (``FN.upper``, a case-folding library) is the secret still.
        self._whole = re.compile("".join(units), re.IGNORECASE)
        # Base64 and hex of the secret and of its escaped forms (a JSON body or a query string, base64-encoded).
        encoded = {form for text in _escaped(secret) for form in _byte_forms(text.encode("utf-8", "surrogatepass"))}
        ordered = sorted(encoded, key=len, reverse=True)
        self._encoded = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._prefix: re.Pattern[str] | None = None
        if len(secret) > MIN_CUT_PREFIX:
            # The first MIN_CUT_PREFIX characters, then as many more as the text has, up to a cut.
            head = "".join(units[:MIN_CUT_PREFIX])
            rest = ""
            for unit in reversed(units[MIN_CUT_PREFIX:-1]):
                rest = f"(?:{unit}{rest})?"
            self._prefix = re.compile(f"{head}{rest}{_CUT}", re.IGNORECASE)

    def mask(self, text: str) -> str:
        text = self._whole.sub(MASK, text)
        if self._encoded is not None:
            text = self._encoded.sub(MASK, text)
        if self._prefix is not None:
            text = self._prefix.sub(MASK, text)
        return text


@lru_cache(maxsize=1024)
def _masker(secret: str) -> _Masker:
    # A step's secrets are the same for every string of its report: compile their patterns once.
    return _Masker(secret)


def _char_pattern(char: str) -> str:
    """Every way one character of a secret may be written in the forms we produce (see the module's doc)."""
    forms = [re.escape(char)]
    encoded = char.encode("utf-8", "surrogatepass")
    # Percent-encoded UTF-8 bytes, any hex case, encoded once or more (``%2B``, ``%252B``...).
    forms.append("".join(f"%(?:25){{0,3}}{_hex(byte, 2)}" for byte in encoded))
    if char == " ":
        forms.append(_literal("+"))
    # Escapes: one or more backslashes (an escape inside JSON inside JSON has its backslash doubled), any of their
    # characters percent-encoded (an escaped text put in a URL).
    letters = [_literal(table[char]) for table in (_PYTHON_ESCAPES, _JSON_ESCAPES) if char in table]
    code = ord(char)
    if code < 0x100:
        letters.append(f"x{_hex(code, 2)}")
    if code < 0x10000:
        letters.append(f"u{_hex(code, 4)}")
    else:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        letters.append(f"U{_hex(code, 8)}")
        letters.append(f"u{_hex(high, 4)}{_BACKSLASHES}u{_hex(low, 4)}")
    forms.append(f"{_BACKSLASHES}(?:" + "|".join(letters) + ")")
    if len(encoded) > 1:  # the repr of bytes (an HTTP library quoting a header value) escapes each UTF-8 byte
        forms.append("".join(f"{_BACKSLASHES}x{_hex(byte, 2)}" for byte in encoded))
    return "(?:" + "|".join(forms) + ")"


def _literal(char: str) -> str:
    """A pattern for one ASCII character of an escape sequence, as is or percent-encoded."""
    return f"(?:{re.escape(char)}|%(?:25){{0,3}}{_hex(ord(char), 2)})"


def _escaped(secret: str) -> set[str]:
    """``secret`` and the escaped texts of it that may then be base64- or hex-encoded as a whole."""
    quoted = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    lower_hex = {re.sub(r"%[0-9A-F]{2}", lambda escape: escape.group(0).lower(), text) for text in quoted}
    return {
        secret,
        *quoted,
        *lower_hex,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }


def _byte_forms(raw: bytes) -> list[str]:
    """Base64 (``_base64_forms``) and hex (either case) of ``raw``."""
    return [*_base64_forms(raw), raw.hex(), raw.hex().upper()]


def _hex(number: int, width: int) -> str:
    """A pattern for ``number`` in hex, ``width`` digits, each letter in either case."""
    digits = f"{number:0{width}x}"
    return "".join(f"[{digit}{digit.upper()}]" if digit.isalpha() else digit for digit in digits)


def _base64_forms(raw: bytes) -> list[str]:
    """The base64 texts that hold a secret's bytes ``raw``: its own encoding (standard and URL-safe, padded or not),
    and for each of the three alignments it can have inside a longer encoded text, the characters that depend on
    its bytes only."""
    forms: set[str] = set()
    whole = base64.b64encode(raw).decode()
    forms.update({whole, whole.rstrip("=")})
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode()
        # Characters before the first full 6-bit group of the secret's bytes, and after its last, mix in
        # neighbouring bytes.
        start = -(-offset * 8 // 6)
        end = (offset + len(raw)) * 8 // 6
        core = encoded[start:end]
        if len(core) >= MIN_BASE64_CORE:
            forms.add(core)
    forms |= {form.replace("+", "-").replace("/", "_") for form in forms}
    return sorted((form for form in forms if form), key=len, reverse=True)
