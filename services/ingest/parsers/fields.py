"""Field helpers every parser shares: severities, timestamps, string maps and stable hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from schemas.alert import Alert, AlertStatus, Severity
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.errors import ParseError, RefusedAlert

#: Vendor severity words mapped onto alertmesh's scale; anything else is "unknown".
SEVERITY_SYNONYMS: dict[str, Severity] = {
    "critical": "critical", "crit": "critical", "page": "critical", "fatal": "critical",
    "emergency": "critical", "emerg": "critical", "alert": "critical", "disaster": "critical",
    "p1": "critical", "sev1": "critical",
    "high": "high", "error": "high", "err": "high", "major": "high", "severe": "high",
    "p2": "high", "sev2": "high",
    "medium": "medium", "warning": "medium", "warn": "medium", "moderate": "medium", "average": "medium",
    "p3": "medium", "sev3": "medium",
    "low": "low", "minor": "low", "notice": "low", "p4": "low", "sev4": "low",
    "info": "info", "informational": "info", "information": "info", "debug": "info", "none": "info",
    "ok": "info", "p5": "info", "sev5": "info",
}  # fmt: skip


def normalize_severity(value: Any) -> Severity:
    """Map a vendor severity onto the alertmesh scale (case-insensitive); unknown words give 'unknown'."""
    if not isinstance(value, str):
        return "unknown"
    return SEVERITY_SYNONYMS.get(value.strip().lower(), "unknown")


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


def gather_urls(**links: Any) -> dict[str, str]:
    """The named links that are non-blank strings (senders fill absent links with ""), in argument order."""
    # Absent links (None, "") are the common case: ruled out before any call, on the hot path.
    return {name: link for name, link in links.items() if link and isinstance(link, str) and not link.isspace()}


def parse_status(value: Any, where: str) -> AlertStatus:
    """'firing' or 'resolved' (case-insensitive); anything else is a parse error naming ``where``."""
    if isinstance(value, str) and value.strip().lower() in ("firing", "resolved"):
        return "firing" if value.strip().lower() == "firing" else "resolved"
    raise ParseError(f"{where}: status must be 'firing' or 'resolved', got {value!r}")


def parse_time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 timestamp in UTC; None for absent/empty values and for Go's zero time (year 1)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ParseError(f"{where}: timestamp must be a string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ParseError(f"{where}: invalid timestamp {value!r} (expected RFC 3339)") from None
    if parsed.tzinfo is None:
        raise ParseError(f"{where}: timestamp {value!r} has no time zone (expected RFC 3339, e.g. ...Z)")
    # Alertmanager and Grafana send 0001-01-01T00:00:00Z for "not ended yet".
    if parsed.year == 1:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is in the year 10000 in UTC
        raise ParseError(f"{where}: timestamp {value!r} is past the year 9999 in UTC") from None


def string_map(value: Any, where: str) -> dict[str, str]:
    """A JSON object of string values (labels, annotations); absent means empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ParseError(f"{where} must be an object of strings, got {type(value).__name__}")
    bad = [key for key, item in value.items() if not isinstance(item, str)]
    if bad:
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
