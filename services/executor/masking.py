"""Replace secret values with ``***`` wherever a step's report would carry them.

An action may echo what it was given (an HTTP service quoting the request, an exception naming its input), so
the result and the error message of a step that read secrets are scrubbed before the report leaves the executor:
to Temporal's history, the heartbeat details, the results topic and the log. Values are replaced where they
appear inside longer strings too, longest first, so a secret containing another is masked whole. Only the exact
bytes are found: an action that encodes a secret (base64, hashing) before returning it defeats this, and must not.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

MASK = "***"


def mask_text(text: str, secrets: Collection[str]) -> str:
    """``text`` with every occurrence of each value in ``secrets`` replaced by ``***``."""
    for secret in _longest_first(secrets):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_value(value: Any, secrets: Collection[str]) -> Any:
    """``value`` (any JSON value) with secrets masked in every string, dict keys included; a new value."""
    ordered = _longest_first(secrets)
    if not ordered:
        return value
    return _mask(value, ordered)


def _longest_first(secrets: Collection[str]) -> list[str]:
    # An empty value would match everywhere and mask nothing useful.
    return sorted((secret for secret in secrets if secret), key=len, reverse=True)


def _mask(value: Any, ordered: list[str]) -> Any:
    if isinstance(value, str):
        return mask_text(value, ordered)
    if isinstance(value, dict):
        return {mask_text(key, ordered): _mask(item, ordered) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, ordered) for item in value]
    return value
