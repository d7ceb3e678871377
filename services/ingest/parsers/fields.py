"""Field helpers every parser shares: severities, timestamps, links, string maps and stable hashes.

The rules for severities (``severities``), timestamps (``times``) and links (``links``) live in their own modules;
they are offered here too, so a parser takes every field helper from one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from schemas.alert import Alert, AlertStatus
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.links import gather_url_map, gather_urls, safe_url
from services.ingest.parsers.severities import (
    SEVERITY_SCALES,
    SEVERITY_SYNONYMS,
    SeverityScale,
    apply_severity_map,
    normalize_severity,
    severity_from_scale,
)
from services.ingest.parsers.times import EPOCH_UNIT_BOUNDS, parse_time

__all__ = [
    "EPOCH_UNIT_BOUNDS",
    "SEVERITY_SCALES",
    "SEVERITY_SYNONYMS",
    "SeverityScale",
    "alert_list",
    "apply_severity_map",
    "each_alert",
    "gather_url_map",
    "gather_urls",
    "labels_fingerprint",
    "list_length",
    "normalize_severity",
    "optional_string",
    "original_severity",
    "parse_status",
    "parse_time",
    "safe_url",
    "severity_from_scale",
    "source_of",
    "stable_hash",
    "string_map",
]


def source_of(headers: Mapping[str, str], default: str) -> str:
    """The webhook path's source (the ``alertmesh-source`` header) when set, else what the format says.

    Each parser builds its alerts with it, so no alert is built twice (``registry.parse_alerts`` still overrides
    what a parser missed)."""
    return headers.get(SOURCE_HEADER, "").strip() or default


def original_severity(value: Any) -> str | None:
    """The sender's severity as text (numbers too, e.g. an EDR's 1-100 score); None when absent or not scalar."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_status(value: Any, where: str) -> AlertStatus:
    """'firing' or 'resolved' (case-insensitive); anything else is a parse error naming ``where``."""
    if isinstance(value, str) and value.strip().lower() in ("firing", "resolved"):
        return "firing" if value.strip().lower() == "firing" else "resolved"
    raise ParseError(f"{where}: status must be 'firing' or 'resolved', got {value!r}")


def string_map(value: Any, where: str) -> dict[str, str]:
    """A JSON object of string values (labels, annotations); absent means empty."""
    if value is None:
        return {}
    # A decoded JSON object is a dict: checked first, as the ABC check costs more than the rest (five maps an alert).
    if type(value) is not dict and not isinstance(value, Mapping):
        raise ParseError(f"{where} must be an object of strings, got {type(value).__name__}")
    if not all(type(item) is str for item in value.values()):
        bad = [key for key, item in value.items() if not isinstance(item, str)]
        if bad:  # a str subclass passes, as it always did
            raise ParseError(f"{where} must map to strings; not a string: {', '.join(sorted(bad))}")
    return dict(value)


def alert_list(document: Mapping[str, Any], format_name: str) -> list[Any]:
    """The document's ``alerts``, which webhook formats (Alertmanager, Grafana) require to be a non-empty list."""
    alerts = document["alerts"]
    if not isinstance(alerts, list) or not alerts:
        raise ParseError(f"{format_name}: 'alerts' must be a non-empty list")
    return alerts


def each_alert(items: Sequence[Any], where: str, build: Callable[[Any, str], Alert]) -> list[Alert | RefusedAlert]:
    """``build(item, "<where>[<index>]")`` for every item of a group: an item it refuses (``ParseError``) or that
    breaks the Alert contract (``ValidationError``) is a ``RefusedAlert`` naming its index, and the others are
    unaffected."""
    parsed: list[Alert | RefusedAlert] = []
    for index, item in enumerate(items):
        try:
            parsed.append(build(item, f"{where}[{index}]"))
        except ParseError as error:
            parsed.append(RefusedAlert(index, error.reason, element=item))
        except ValidationError as error:
            parsed.append(RefusedAlert(index, f"{where}[{index}]: invalid alert: {error}", "validate", element=item))
    return parsed


def list_length(value: Any) -> int:
    """How many alerts a list of them holds (1 for anything else: the parser refuses it with its own reason)."""
    return len(value) if isinstance(value, list) else 1


def optional_string(value: Any, where: str) -> str | None:
    """A string field that may be absent or empty (then None)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ParseError(f"{where} must be a string, got {type(value).__name__}")
    return value


def stable_hash(parts: Iterable[str], length: int = 16) -> str:
    """Hex sha256 of the parts (unit-separated so ('ab','c') and ('a','bc') differ), cut to ``length``."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Stable fingerprint of a label set: the same labels in any order give the same value."""
    return stable_hash(f"{key}={value}" for key, value in sorted(labels.items()))
