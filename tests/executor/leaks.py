"""Where a secret could have leaked to on disk, in every form it takes on the way: for the end-to-end tests that
search every file the mesh wrote (service output, Ray's session logs, the span store)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus


def secret_forms(secret: str) -> dict[str, bytes]:
    """The secret as written exactly, percent-encoded (quote, quote_plus, any hex case), JSON-escaped,
    repr-escaped (of the text and of its bytes), base64 (standard and URL-safe, padded or not) and hex."""
    raw = secret.encode()
    forms = {
        "exact": secret,
        "quote": quote(secret),
        "quote, nothing safe": quote(secret, safe=""),
        "quote_plus": quote_plus(secret),
        "quote, lower hex": _lower_hex(quote(secret, safe="")),
        "quote_plus, lower hex": _lower_hex(quote_plus(secret)),
        "json": json.dumps(secret)[1:-1],
        "json, ascii": json.dumps(secret, ensure_ascii=True)[1:-1],
        "repr": repr(secret)[1:-1],
        "repr of bytes": repr(raw)[2:-1],
        "base64": base64.b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
        "base64 urlsafe": base64.urlsafe_b64encode(raw).decode(),
        "base64 urlsafe unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "hex": raw.hex(),
    }
    return {name: form.encode() for name, form in forms.items()}


def _lower_hex(text: str) -> str:
    parts = text.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def leaks(directories: Iterable[Path], secret: str) -> list[str]:
    """``file: form`` for each file under ``directories`` holding a form of ``secret``."""
    forms = secret_forms(secret)
    found = []
    for directory in directories:
        for path in sorted(directory.rglob("*")) if directory.is_dir() else [directory]:
            if not path.is_file() or path.is_socket():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += [f"{path}: {name}" for name, form in forms.items() if form in data]
    return found


def files_under(directories: Iterable[Path]) -> int:
    """How many files there are to search (a search of nothing proves nothing)."""
    return sum(1 for directory in directories for path in directory.rglob("*") if path.is_file())
