"""``POST /api/v2/alerts``'s body checked as Alertmanager checks it (its OpenAPI ``postableAlerts`` and
``types.Alert.Validate``): a JSON array of objects, each with a ``labels`` object of string values under valid
label names, at least one label with a value, ``annotations`` an object of strings, ``startsAt``/``endsAt`` RFC
3339 times with the end not before the start, ``generatorURL`` a string.

Like Alertmanager, the valid alerts of a body are kept and the invalid ones answered: the caller writes the valid
ones and answers 400 with every reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from services.webhook.body import Rejected

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
#: Reasons quoted in one answer; the rest are counted.
MAX_REASONS = 10


def string_map(value: Any, field: str) -> str | None:
    """Why ``value`` is not a JSON object of strings under valid label names, or None."""
    if not isinstance(value, dict):
        return f"{field} must be an object of strings"
    for name, text in value.items():
        if not LABEL_NAME.fullmatch(name):
            return f"invalid {field}: invalid name {name[:100]!r}"
        if not isinstance(text, str):
            return f"invalid {field}: the value of {name!r} must be a string"
    return None


def parsed_time(value: Any, field: str) -> datetime | None:
    """An RFC 3339 time; ``Rejected``-free: raises ``ValueError`` with the field's name."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an RFC 3339 date-time string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field}: {value[:60]!r} is not an RFC 3339 date-time") from None
    if at.tzinfo is None:
        raise ValueError(f"{field}: {value[:60]!r} has no time zone")
    return None if at.year == 1 else at  # Go's zero time: not set


def problem(alert: Any) -> str | None:
    """Why Alertmanager would refuse one element of the array, or None."""
    if not isinstance(alert, dict):
        return "each alert must be a JSON object"
    if "labels" not in alert:
        return "labels in body is required"
    for field in ("labels", "annotations"):
        if field in alert:
            found = string_map(alert[field], field)
            if found is not None:
                return found
    if not any(alert["labels"].values()):
        return "at least one label pair required"
    if "generatorURL" in alert and not isinstance(alert["generatorURL"], str):
        return "generatorURL must be a string"
    try:
        starts, ends = parsed_time(alert.get("startsAt"), "startsAt"), parsed_time(alert.get("endsAt"), "endsAt")
    except ValueError as error:
        return str(error)
    if starts is not None and ends is not None and ends < starts:
        return "start time must be before end time"
    return None


def checked(document: Any, max_alerts: int) -> tuple[list[Any], list[str]]:
    """The valid alerts and the reasons for the others; ``Rejected`` for a body that is not an array (400) or
    carries more than ``max_alerts`` alerts (413)."""
    if not isinstance(document, list):
        raise Rejected(400, "the body must be a JSON array of alerts (Alertmanager's postableAlerts)")
    if len(document) > max_alerts:
        raise Rejected(
            413, f"the request carries {len(document)} alerts, more than the {max_alerts}-alert limit per request "
            "(WEBHOOK_MAX_ALERTS_PER_REQUEST): split it into smaller requests"
        )  # fmt: skip
    valid: list[Any] = []
    reasons: list[str] = []
    for index, alert in enumerate(document):
        found = problem(alert)
        if found is None:
            valid.append(alert)
        else:
            reasons.append(f"alert {index}: {found}")
    return valid, reasons


def reasons_text(reasons: list[str]) -> str:
    """The refused alerts' reasons, the first ``MAX_REASONS`` quoted."""
    shown = "; ".join(reasons[:MAX_REASONS])
    more = len(reasons) - MAX_REASONS
    return shown + (f"; and {more} more" if more > 0 else "")
